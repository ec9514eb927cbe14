package byaisim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/simulator/core"
)

// Callback data types.
const (
	DataTypeCall    = "CALL_INSTANCE_RESULT"
	DataTypeJob     = "JOB_INFO_RESULT"
	DataTypeInbound = "INBOUND_CALL_INSTANCE_RESULT"
)

// Analysis result names.
const (
	resultIntent  = "客户意向等级"
	resultTags    = "客户标签"
	resultConcern = "客户关注点"
)

// intentLabels are resultValue and resultValueNew of each intent level.
var intentLabels = map[string][2]string{
	"A": {"A级(较强)", "A级(有明确意向)"},
	"B": {"B级(一般)", "B级(可能有意向)"},
	"C": {"C级(很少)", "C级(明确拒绝)"},
	"D": {"D级(无法判断)", "D级(用户忙)"},
	"E": {"E级(拒接)", "E级(拨打失败)"},
	"F": {"F级(无效客户)", "F级(无效客户)"},
}

const ossBase = "https://byrobot-sim.oss-cn-hangzhou.aliyuncs.com/"

type sceneInstance struct {
	CallInstanceID     int64   `json:"callInstanceId"`
	CompanyID          int64   `json:"companyId"`
	CallUserID         int64   `json:"callUserId"`
	CallJobID          int64   `json:"callJobId"`
	CustomerID         int64   `json:"customerId"`
	CustomerTelephone  string  `json:"customerTelephone"`
	CustomerName       string  `json:"customerName"`
	Status             int     `json:"status"`
	FinishStatus       int     `json:"finishStatus"`
	Duration           int     `json:"duration"`
	ChatRound          int     `json:"chatRound"`
	StartTime          string  `json:"startTime"`
	EndTime            string  `json:"endTime"`
	CallerPhone        string  `json:"callerPhone"`
	LuyinOssURL        *string `json:"luyinOssUrl"`
	UserLuyinOssURL    *string `json:"userLuyinOssUrl"`
	Properties         string  `json:"properties"`
	HandlePerson       string  `json:"handlePerson"`
	CallType           int     `json:"callType"`
	CallIndex          int     `json:"callIndex"`
	ReadStatus         int     `json:"readStatus"`
	JobName            string  `json:"jobName"`
	RobotDefID         int64   `json:"robotDefId"`
	SceneDefID         int64   `json:"sceneDefId"`
	SceneRecordID      int64   `json:"sceneRecordId"`
	CorpName           string  `json:"corpName"`
	Industry           string  `json:"industry"`
	TrackResult        *string `json:"trackResult"`
	BugType            *string `json:"bugType"`
	HangUp             int     `json:"hangUp"`
	SecondaryCallTime  string  `json:"secondaryCallTime"`
	SecondaryCallTimes int     `json:"secondaryCallTimes"`
	Cost               int     `json:"cost"`
	Callbacked         int     `json:"callbacked"`
	CsStaffID          *int64  `json:"csStaffId"`
	GmtCreate          string  `json:"gmtCreate"`
	GmtModified        string  `json:"gmtModified"`
}

type inboundInstance struct {
	InboundInstanceID   int64             `json:"inboundInstanceId"`
	InboundInstanceCode string            `json:"inboundInstanceCode"`
	CompanyID           int64             `json:"companyId"`
	CallJobID           *int64            `json:"callJobId"`
	CustomerID          int64             `json:"customerId"`
	CustomerTelephone   string            `json:"customerTelephone"`
	CustomerName        string            `json:"customerName"`
	Status              int               `json:"status"`
	FinishStatus        int               `json:"finishStatus"`
	Duration            int               `json:"duration"`
	ChatRound           int               `json:"chatRound"`
	StartTime           string            `json:"startTime"`
	EndTime             string            `json:"endTime"`
	CalleePhone         string            `json:"calleePhone"`
	CalleeSip           string            `json:"calleeSip"`
	CsStaffID           *int64            `json:"csStaffId"`
	CsStaffName         *string           `json:"csStaffName"`
	CsStaffTelephone    *string           `json:"csStaffTelephone"`
	LuyinOssURL         *string           `json:"luyinOssUrl"`
	UserLuyinOssURL     *string           `json:"userLuyinOssUrl"`
	Properties          string            `json:"properties"`
	CallType            int               `json:"callType"`
	ReadStatus          *int              `json:"readStatus"`
	RobotDefID          int64             `json:"robotDefId"`
	SceneDefID          int64             `json:"sceneDefId"`
	SceneRecordID       int64             `json:"sceneRecordId"`
	IP                  string            `json:"ip"`
	HostName            string            `json:"hostName"`
	TransferStatus      *int              `json:"transferStatus"`
	TransferInfo        *string           `json:"transferInfo"`
	UserLevel           *string           `json:"userLevel"`
	TrackResult         *string           `json:"trackResult"`
	BugType             *string           `json:"bugType"`
	HangUp              int               `json:"hangUp"`
	Callbacked          *int              `json:"callbacked"`
	GmtCreate           *string           `json:"gmtCreate"`
	GmtModified         *string           `json:"gmtModified"`
	PropertiesMap       map[string]string `json:"propertiesMap"`
}

type label struct {
	Key   int    `json:"key"`
	Value string `json:"value"`
}

type taskResult struct {
	SceneInstanceResultID int64   `json:"sceneInstanceResultId"`
	CompanyID             int64   `json:"companyId"`
	CallJobID             *int64  `json:"callJobId"`
	SceneInstanceID       int64   `json:"sceneInstanceId"`
	ResultName            string  `json:"resultName"`
	ResultValue           string  `json:"resultValue"`
	ArtificialResultValue *string `json:"artificialResultValue"`
	ArtificialChanged     *bool   `json:"artificialChanged"`
	ResultDesc            *string `json:"resultDesc"`
	Extra                 *string `json:"extra"`
	AnalyzeType           string  `json:"analyzeType"`
	GmtCreate             *string `json:"gmtCreate"`
	GmtModified           *string `json:"gmtModified"`
	ResultValueAlias      *string `json:"resultValueAlias"`
	ResultLabels          []label `json:"resultLabels"`
	ResultValueNew        *string `json:"resultValueNew"`
}

type phoneLogEntry struct {
	SceneInstanceLogID int64   `json:"sceneInstanceLogId"`
	SceneInstanceID    int64   `json:"sceneInstanceId"`
	CompanyID          int64   `json:"companyId"`
	RobotDefID         int64   `json:"robotDefId"`
	DecisionID         int64   `json:"decisionId"`
	Speaker            string  `json:"speaker"`
	Content            string  `json:"content"`
	UserMean           string  `json:"userMean"`
	UserMeanDetail     *string `json:"userMeanDetail"`
	AiUnknown          bool    `json:"aiUnknown"`
	AnswerStatus       *int    `json:"answerStatus"`
	StudyStatus        *int    `json:"studyStatus"`
	StartTime          int64   `json:"startTime"`
	EndTime            int64   `json:"endTime"`
	GmtCreate          string  `json:"gmtCreate"`
	GmtModified        string  `json:"gmtModified"`
	KnowledgeBaseID    *int64  `json:"knowledgeBaseId"`
	CorrectionContent  *string `json:"correctionContent"`
}

type phoneLog struct {
	PhoneLogs   []phoneLogEntry `json:"phoneLogs"`
	LuyinOssURL *string         `json:"luyinOssUrl"`
}

// callData is the data of CALL_INSTANCE_RESULT and INBOUND_CALL_INSTANCE_RESULT
// (which has no jobFinished).
type callData struct {
	SceneInstance any          `json:"sceneInstance"`
	TaskResult    []taskResult `json:"taskResult"`
	PhoneLog      phoneLog     `json:"phoneLog"`
	JobFinished   *bool        `json:"jobFinished,omitempty"`
	Sign          *string      `json:"sign"`
	DateTime      string       `json:"dateTime"`
}

// legacyData is a call record without the callback extras: older accounts' callback
// data and phoneLogInfo's answer.
type legacyData struct {
	SceneInstance any          `json:"sceneInstance"`
	TaskResult    []taskResult `json:"taskResult"`
	PhoneLog      phoneLog     `json:"phoneLog"`
}

type callback struct {
	DataType string `json:"dataType"`
	Data     any    `json:"data"`
}

type jobInfo struct {
	CallJobID          int64   `json:"callJobId"`
	CompanyID          int64   `json:"companyId"`
	JobName            string  `json:"jobName"`
	JobType            int64   `json:"jobType"`
	StartDate          string  `json:"startDate"`
	EndDate            *string `json:"endDate"`
	WorkingStartTime   *string `json:"workingStartTime"`
	WorkingEndTime     *string `json:"workingEndTime"`
	BreakStartTime     *string `json:"breakStartTime"`
	BreakEndTime       *string `json:"breakEndTime"`
	Status             int     `json:"status"`
	CallType           int64   `json:"callType"`
	RobotDefID         int64   `json:"robotDefId"`
	SceneDefID         int64   `json:"sceneDefId"`
	SceneRecordID      int64   `json:"sceneRecordId"`
	Remark             string  `json:"remark"`
	SmsType            int64   `json:"smsType"`
	SmsCondition       *string `json:"smsCondition"`
	SmsTemplateID      *string `json:"smsTemplateId"`
	UserID             int64   `json:"userId"`
	UserName           string  `json:"userName"`
	IP                 string  `json:"ip"`
	HostName           string  `json:"hostName"`
	Version            int     `json:"version"`
	SecondaryStartTime string  `json:"secondaryStartTime"`
	JobIsDelete        bool    `json:"jobIsDelete"`
	GmtCreate          string  `json:"gmtCreate"`
	GmtModified        string  `json:"gmtModified"`
}

// onCall sends the callbacks of a finished call.
func (s *Server) onCall(c core.Call, _ core.Task) {
	o := c.Outcome
	s.sim.Emitter.Emit(core.Event{Kind: core.KindCall, Name: fmt.Sprintf("finishStatus=%d(%s)", o.Status, Statuses[o.Status]), TaskID: c.TaskID, CallID: c.ID, Detail: o.Intent})
	if c.Inbound {
		s.sim.Send(DataTypeInbound, func() []byte {
			d := s.callRecord(c)
			s.stamp(&d)
			return core.MustJSON(reply{Code: 200, Data: callback{DataTypeInbound, d}, ResultMsg: "成功"})
		})
		return
	}
	s.sim.SendCall(DataTypeCall, c, func() []byte {
		d := s.callRecord(c)
		if s.cfg.LegacyCallbacks {
			return core.MustJSON(reply{Code: 200, Data: legacyData{d.SceneInstance, d.TaskResult, d.PhoneLog}, ResultMsg: "成功"})
		}
		s.stamp(&d)
		return core.MustJSON(reply{Code: 200, Data: callback{DataTypeCall, d}, ResultMsg: "成功"})
	})
	if !o.Answered() {
		return
	}
	var change, callBack bool
	var level string
	s.eng.Rand(func(r *rand.Rand) {
		change = r.Float64() < s.cfg.IntentChangeRate
		callBack = r.Float64() < s.cfg.InboundRate
		level = core.OtherIntent(r, o.Intent)
	})
	if change {
		s.eng.After(2*time.Minute, func() { s.sendIntentChange(c, level) })
	}
	if callBack {
		s.eng.After(5*time.Minute, func() { s.eng.Inbound(c.Customer, s.defaultMeta()) })
	}
}

// stamp fills dateTime with the attempt's time and, when enabled, its sign.
func (s *Server) stamp(d *callData) {
	d.DateTime = s.sim.Clock.Now().UTC().Format(byai.DateTimeLayout)
	if s.cfg.SignCallbacks {
		d.Sign = core.Ptr(byai.Sign(s.cfg.AppKey, s.cfg.AppSecret, d.DateTime))
	}
}

// sendIntentChange sends what BYAI sends when a person changes an intent level in
// the CRM: a CALL_INSTANCE_RESULT holding only taskResult.
func (s *Server) sendIntentChange(c core.Call, level string) {
	type change struct {
		CompanyID       int64  `json:"companyId"`
		SceneInstanceID int64  `json:"sceneInstanceId"`
		ResultName      string `json:"resultName"`
		ResultValue     string `json:"resultValue"`
	}
	type data struct {
		TaskResult []change `json:"taskResult"`
	}
	body := core.MustJSON(reply{Code: 200, ResultMsg: "成功", Data: callback{DataTypeCall, data{[]change{{s.cfg.CompanyID, c.ID, resultIntent, level}}}}})
	s.sim.Emitter.Emit(core.Event{Kind: core.KindCall, Name: "intentChanged", TaskID: c.TaskID, CallID: c.ID, Detail: c.Outcome.Intent + "->" + level})
	s.sim.Send(DataTypeCall, func() []byte { return body })
}

// onState sends JOB_INFO_RESULT when a task pauses, stops or completes.
func (s *Server) onState(t core.Task, from core.State) {
	s.sim.Emitter.Emit(core.Event{Kind: core.KindTask, Name: t.State.String(), TaskID: t.ID, Detail: "from " + from.String()})
	switch t.State {
	case core.StatePaused, core.StateStopped, core.StateCompleted:
	default:
		return
	}
	body := core.MustJSON(reply{Code: 200, ResultMsg: "执行成功", Data: callback{DataTypeJob, s.jobInfo(t)}})
	s.sim.Send(DataTypeJob, func() []byte { return body })
}

func (s *Server) jobInfo(t core.Task) jobInfo {
	m := t.Meta.(*TaskMeta)
	var end *string
	if t.State == core.StateCompleted || t.State == core.StateStopped {
		end = core.Ptr(core.Local(t.Modified)[:10])
	}
	return jobInfo{
		CallJobID: t.ID, CompanyID: m.CompanyID, JobName: m.TaskName, JobType: m.TaskType,
		StartDate: m.StartDate, EndDate: end,
		WorkingStartTime: optClock(m.WorkingStartTime), WorkingEndTime: optClock(m.WorkingEndTime),
		BreakStartTime: optClock(m.BreakStartTime), BreakEndTime: optClock(m.BreakEndTime),
		Status: taskStatus(t.State), CallType: m.CallType,
		RobotDefID: m.RobotDefID, SceneDefID: m.SceneDefID, SceneRecordID: m.SceneRecordID,
		Remark: m.Remark, SmsType: m.SmsType, UserID: 1, UserName: "API", IP: "127.0.0.1", HostName: "byai-sim",
		Version: t.Version, SecondaryStartTime: "09:00:00", GmtCreate: core.Local(t.Created), GmtModified: core.Local(t.Modified),
	}
}

func optClock(s string) *string {
	if s == "" {
		return nil
	}
	return core.Ptr(core.Seconds(s))
}

// callRecord renders a finished call as BYAI's call record. Ids of its rows derive
// from the call id, so the record reads the same every time.
func (s *Server) callRecord(c core.Call) callData {
	m := c.Meta.(*TaskMeta)
	o := c.Outcome
	var rec, userRec, track *string
	if o.Answered() {
		rec = core.Ptr(fmt.Sprintf("%sRobotPhoneCommunicate/%d/%s_%s.wav", ossBase, c.ID, c.Ended.In(core.Shanghai()).Format("20060102-150405"), c.Customer.Phone))
		userRec = core.Ptr(fmt.Sprintf("%sRobotPhoneCommunicate/%d_user.wav", ossBase, c.ID))
		track = core.Ptr(intentLabels[o.Intent][0])
	}
	hangUp := 0
	if o.CustomerHungUp {
		hangUp = 1
	}
	props := c.Customer.Properties
	if props == nil {
		props = map[string]string{}
	}
	d := callData{
		TaskResult: s.taskResults(c, m),
		PhoneLog:   phoneLog{PhoneLogs: s.phoneLogs(c, m), LuyinOssURL: rec},
	}
	if c.Inbound {
		d.SceneInstance = inboundInstance{
			InboundInstanceID: c.ID, InboundInstanceCode: fmt.Sprintf("%d_%d_101", c.ID, m.CompanyID), CompanyID: m.CompanyID,
			CustomerID: c.Customer.ID, CustomerTelephone: c.Customer.Phone, CustomerName: nameOr(c.Customer.Name, "未知呼入客户"),
			Status: 2, FinishStatus: o.Status, Duration: o.Duration, ChatRound: o.Rounds,
			StartTime: core.Local(c.Started), EndTime: core.Local(c.Ended), CalleePhone: phones[1].Phone, CalleeSip: "666003",
			LuyinOssURL: rec, UserLuyinOssURL: userRec, Properties: string(core.MustJSON(props)), CallType: 101,
			RobotDefID: m.RobotDefID, SceneDefID: m.SceneDefID, SceneRecordID: m.SceneRecordID,
			IP: "127.0.0.1", HostName: "byai-sim", TrackResult: track, HangUp: hangUp,
			PropertiesMap: map[string]string{"客户名称": nameOr(c.Customer.Name, "未知呼入客户"), "联系方式": c.Customer.Phone},
		}
		return d
	}
	caller := phones[0]
	for _, p := range phones {
		if len(m.UserPhoneIDs) > 0 && p.UserPhoneID == m.UserPhoneIDs[0] {
			caller = p
		}
	}
	d.SceneInstance = sceneInstance{
		CallInstanceID: c.ID, CompanyID: m.CompanyID, CallUserID: 1, CallJobID: c.TaskID,
		CustomerID: c.Customer.ID, CustomerTelephone: c.Customer.Phone, CustomerName: c.Customer.Name,
		Status: 2, FinishStatus: o.Status, Duration: o.Duration, ChatRound: o.Rounds,
		StartTime: core.Local(c.Started), EndTime: core.Local(c.Ended), CallerPhone: caller.Phone,
		LuyinOssURL: rec, UserLuyinOssURL: userRec, Properties: string(core.MustJSON(props)),
		HandlePerson: robotName(m.RobotDefID), CallType: m.CallKind, CallIndex: c.Index - 1,
		JobName: m.TaskName, RobotDefID: m.RobotDefID, SceneDefID: m.SceneDefID, SceneRecordID: m.SceneRecordID,
		CorpName:    fmt.Sprintf(`{"calledTimes":1,"callerId":%d,"host":"byai-sim","ip":"127.0.0.1","useAsr":"pay"}`, caller.UserPhoneID),
		Industry:    fmt.Sprintf("%d_%d_1", c.ID, m.CompanyID),
		TrackResult: track, HangUp: hangUp, SecondaryCallTime: "1970-01-01 09:00:00",
		Cost: (o.Duration + 59) / 60 * 10, GmtCreate: core.Local(c.Started), GmtModified: core.Local(c.Ended),
	}
	d.JobFinished = core.Ptr(c.LastOfTask)
	return d
}

func nameOr(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

func robotName(id int64) string {
	for _, r := range robots {
		if r.RobotDefID == id {
			return r.RobotName
		}
	}
	return "模拟话术"
}

// taskResults is the call's analysis: intent level, tags and one entry per concern.
func (s *Server) taskResults(c core.Call, m *TaskMeta) []taskResult {
	o := c.Outcome
	out := []taskResult{}
	if !o.Answered() {
		return out
	}
	var job *int64
	if c.TaskID != 0 {
		job = core.Ptr(c.TaskID)
	}
	var changed *bool
	if c.Inbound {
		changed = core.Ptr(false)
	}
	at := core.Ptr(core.Local(c.Ended))
	row := func(name, value string) taskResult {
		return taskResult{
			SceneInstanceResultID: c.ID*10 + int64(len(out)), CompanyID: m.CompanyID, CallJobID: job,
			SceneInstanceID: c.ID, ResultName: name, ResultValue: value, ArtificialChanged: changed,
			AnalyzeType: "DYNAMIC_ANALYZE_USER_LEVEL", GmtCreate: at, GmtModified: at,
		}
	}
	lv := intentLabels[o.Intent]
	r := row(resultIntent, lv[0])
	r.ArtificialResultValue, r.ResultDesc, r.ResultValueAlias, r.ResultValueNew = core.Ptr(lv[0]), core.Ptr(o.Basis), core.Ptr(o.Intent), core.Ptr(lv[1])
	r.Extra = core.Ptr(fmt.Sprintf(`{"hitUserLevelConfigExtraId":%d,"hitUserLevelConfigId":%d}`, 327800+len(o.Intent), int(o.Intent[0]-'A')+1))
	out = append(out, r)
	if len(o.Tags) > 0 {
		keys := make([]string, len(o.Tags))
		labels := make([]label, len(o.Tags))
		for i, t := range o.Tags {
			keys[i], labels[i] = fmt.Sprint(t.Key), label{t.Key, t.Value}
		}
		r := row(resultTags, "["+strings.Join(keys, ",")+"]")
		r.ResultLabels, r.ResultValueAlias, r.ResultValueNew = labels, core.Ptr(""), core.Ptr("")
		out = append(out, r)
	}
	for _, concern := range o.Concerns {
		r := row(resultConcern, concern)
		r.ArtificialResultValue = core.Ptr(concern)
		out = append(out, r)
	}
	return out
}

// phoneLogs is the transcript: the robot speaks as "AI", the customer as "ME".
func (s *Server) phoneLogs(c core.Call, m *TaskMeta) []phoneLogEntry {
	out := []phoneLogEntry{}
	for i, t := range c.Outcome.Turns {
		e := phoneLogEntry{
			SceneInstanceLogID: c.ID*100 + int64(i), SceneInstanceID: c.ID, CompanyID: m.CompanyID,
			RobotDefID: m.RobotDefID, DecisionID: 10638 + int64(i/2), Speaker: "AI", Content: t.Text,
			StartTime: t.StartMs, EndTime: t.EndMs,
		}
		e.GmtCreate = core.Local(c.Started.Add(time.Duration(c.Outcome.Ring)*time.Second + time.Duration(t.StartMs)*time.Millisecond))
		e.GmtModified = e.GmtCreate
		if !t.Robot {
			detail := core.MustJSON([]map[string]any{{"score": -1, "answer": t.Meaning, "ask": t.Text, "knowledgeBaseId": 5061}})
			e.Speaker, e.UserMean, e.UserMeanDetail, e.AnswerStatus = "ME", t.Meaning, core.Ptr(string(detail)), core.Ptr(1)
		}
		out = append(out, e)
	}
	return out
}

type taskItem struct {
	CallJobID            int64   `json:"callJobId"`
	JobName              string  `json:"jobName"`
	JobType              int64   `json:"jobType"`
	StartDate            string  `json:"startDate"`
	WorkingStartTime     *string `json:"workingStartTime"`
	WorkingEndTime       *string `json:"workingEndTime"`
	BreakStartTime       *string `json:"breakStartTime"`
	BreakEndTime         *string `json:"breakEndTime"`
	Status               int     `json:"status"`
	SceneDefID           int64   `json:"sceneDefId"`
	Remark               string  `json:"remark"`
	TotalCount           int     `json:"totalCount"`
	DoneCount            int     `json:"doneCount"`
	CalledCount          int     `json:"calledCount"`
	RejectedCount        int     `json:"rejectedCount"`
	UnavailableCount     int     `json:"unavailableCount"`
	FromUnavailableCount int     `json:"fromUnavailableCount"`
	SceneDefName         *string `json:"sceneDefName"`
	CallPhones           any     `json:"callPhones"`
}

type stat struct {
	Name  string `json:"name"`
	Value int    `json:"value"`
}

type taskDetail struct {
	taskItem
	RobotDefName    string            `json:"robotDefName"`
	SceneDefName    string            `json:"sceneDefName"`
	SceneRecordName string            `json:"sceneRecordName"`
	DurationStat    []stat            `json:"durationStat"`
	ChatRoundStat   []stat            `json:"chatRoundStat"`
	ResultDefs      []map[string]any  `json:"resultDefs"`
	CallPhones      []map[string]any  `json:"callPhones"`
	ExtraStat       map[string][]stat `json:"extraStat"`
}

func (s *Server) taskItem(t core.Task) taskItem {
	m := t.Meta.(*TaskMeta)
	it := taskItem{
		CallJobID: t.ID, JobName: m.TaskName, JobType: m.TaskType, StartDate: m.StartDate,
		WorkingStartTime: optClock(m.WorkingStartTime), WorkingEndTime: optClock(m.WorkingEndTime),
		BreakStartTime: optClock(m.BreakStartTime), BreakEndTime: optClock(m.BreakEndTime),
		Status: taskStatus(t.State), SceneDefID: m.SceneDefID, Remark: m.Remark,
		TotalCount: len(t.Customers), DoneCount: len(t.CallIDs),
	}
	for _, c := range s.eng.Calls(t.ID) {
		switch c.Outcome.Status {
		case 0:
			it.CalledCount++
		case 1:
			it.RejectedCount++
		case 2:
			it.UnavailableCount++
		case 3:
			it.FromUnavailableCount++
		}
	}
	return it
}

func (s *Server) taskDetail(t core.Task) taskDetail {
	m := t.Meta.(*TaskMeta)
	d := taskDetail{taskItem: s.taskItem(t), RobotDefName: robotName(m.RobotDefID), SceneDefName: robotName(m.RobotDefID), SceneRecordName: "标准录音"}
	durations := []stat{{"<10s", 0}, {"10-60s", 0}, {"1-2min", 0}, {">2min", 0}}
	rounds := []stat{{"0-9次", 0}, {"10-19次", 0}, {">=20次", 0}}
	intents, concerns := map[string]int{}, map[string]int{}
	for _, c := range s.eng.Calls(t.ID) {
		o := c.Outcome
		if !o.Answered() {
			continue
		}
		switch {
		case o.Duration < 10:
			durations[0].Value++
		case o.Duration < 60:
			durations[1].Value++
		case o.Duration < 120:
			durations[2].Value++
		default:
			durations[3].Value++
		}
		rounds[min(o.Rounds/10, 2)].Value++
		intents[intentLabels[o.Intent][0]]++
		for _, x := range o.Concerns {
			concerns[x]++
		}
	}
	d.DurationStat, d.ChatRoundStat = durations, rounds
	d.ResultDefs = []map[string]any{{"name": resultIntent, "values": []string{"A级(较强)", "B级(一般)", "C级(很少)", "D级(无法判断)", "E级(拒接)", "F级(无效客户)"}}}
	d.ExtraStat = map[string][]stat{resultIntent: stats(intents), resultConcern: stats(concerns)}
	d.CallPhones = []map[string]any{}
	for i, id := range m.UserPhoneIDs {
		for _, p := range phones {
			if p.UserPhoneID == id {
				d.CallPhones = append(d.CallPhones, map[string]any{
					"jobPhoneId": t.ID*10 + int64(i), "userPhoneId": id, "callJobId": t.ID, "phone": p.Phone,
					"phoneName": p.PhoneName, "gmtCreate": core.Local(t.Created), "gmtModified": core.Local(t.Modified),
				})
			}
		}
	}
	return d
}

func stats(m map[string]int) []stat {
	out := []stat{}
	for k, v := range m {
		out = append(out, stat{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
