package yiwisesim

import (
	"fmt"
	"sort"

	"github.com/callbridge/callbridge/internal/simulator/core"
)

// Callback data types.
const (
	DataTypeRecord = "ROBOT_CALL_RECORD"
	DataTypeJob    = "ROBOT_CALL_JOB"
	DataTypeSMS    = "ROBOT_CALL_SMS"
)

const ossBase = "https://ai-call-platform-sim.oss-cn-hangzhou.aliyuncs.com/DialogueRecording/"

type detail struct {
	Text string `json:"text"`
	Type string `json:"type"`
}

// record is the data of ROBOT_CALL_RECORD.
type record struct {
	CallRecordID        int64    `json:"callRecordId"`
	TenantID            int64    `json:"tenantId"`
	RobotCallJobID      int64    `json:"robotCallJobId"`
	CalledPhoneNumber   string   `json:"calledPhoneNumber"`
	ResultStatus        string   `json:"resultStatus"`
	IntentLevel         string   `json:"intentLevel"`
	CustomerConcern     []string `json:"customerConcern"`
	FullAudioURL        *string  `json:"fullAudioUrl"`
	CustomerAudioURL    *string  `json:"customerAudioUrl"`
	AnalysisBasis       string   `json:"analysisBasis"`
	StartTime           string   `json:"startTime"`
	EndTime             string   `json:"endTime"`
	ChatDuration        int      `json:"chatDuration"`
	ChatRound           int      `json:"chatRound"`
	Attributes          []string `json:"attributes"`
	RobotCallDetailList []detail `json:"robotCallDetailList"`
}

type callback struct {
	DataType string `json:"dataType"`
	Data     any    `json:"data"`
}

// onCall sends ROBOT_CALL_RECORD for a finished call.
func (s *Server) onCall(c core.Call, _ core.Task) {
	r := s.record(c)
	s.sim.Emitter.Emit(core.Event{Kind: core.KindCall, Name: r.ResultStatus, TaskID: c.TaskID, CallID: c.ID, Detail: r.IntentLevel})
	var body []byte
	if s.job() {
		body = core.MustJSON(callback{DataTypeRecord, s.currentRecord(c, r)})
	} else {
		body = core.MustJSON(callback{DataTypeRecord, r})
	}
	s.sim.SendCall(DataTypeRecord, c, func() []byte { return body })
	// An answered call with a strong intent gets the follow-up text message.
	if s.job() && c.Outcome.Answered() && (r.IntentLevel == "A" || r.IntentLevel == "B") {
		sms := core.MustJSON(callback{DataTypeSMS, s.smsRecord(c, r)})
		s.sim.Send(DataTypeSMS, func() []byte { return sms })
	}
}

// currentRecord is ROBOT_CALL_RECORD as the current document shows it: dialogFlowId,
// properties, and the transcript as callDetailList with callDetailId.
func (s *Server) currentRecord(c core.Call, r record) map[string]any {
	var flow int64
	if m, ok := c.Meta.(*TaskMeta); ok {
		flow = m.DialogFlowID
	}
	return map[string]any{
		"callRecordId": r.CallRecordID, "tenantId": r.TenantID, "robotCallJobId": r.RobotCallJobID, "dialogFlowId": flow,
		"calledPhoneNumber": r.CalledPhoneNumber, "resultStatus": r.ResultStatus, "intentLevel": r.IntentLevel,
		"customerConcern": r.CustomerConcern, "fullAudioUrl": r.FullAudioURL, "customerAudioUrl": r.CustomerAudioURL,
		"analysisBasis": r.AnalysisBasis, "startTime": r.StartTime, "endTime": r.EndTime, "chatDuration": r.ChatDuration,
		"chatRound": r.ChatRound, "attributes": r.Attributes, "properties": orEmpty(c.Customer.Properties),
		"callDetailList": jobDetails(r.RobotCallDetailList),
	}
}

// smsRecord is ROBOT_CALL_SMS for call c: one NOTICE message greeting the customer.
func (s *Server) smsRecord(c core.Call, r record) map[string]any {
	name := c.Customer.Name
	var taskName string
	if m, ok := c.Meta.(*TaskMeta); ok {
		taskName = m.Name
	}
	const sig = "模拟科技"
	return map[string]any{
		"tenantId": s.cfg.TenantID, "companyName": s.cfg.CompanyName, "customerPersonId": c.Customer.ID,
		"customerPersonName": name, "phoneNumber": c.Customer.Phone, "callRecordId": c.ID,
		"robotCallRobotId": c.TaskID, "robotCallRobotName": taskName,
		"msgList": []map[string]any{{
			"smsTemplateId": 152, "text": "${姓名} 您好，感谢接听，详情请见官网", "type": "NOTICE",
			"smsSignatureId": 109, "smsSignatureName": sig, "smsTemplateName": "通话后跟进",
			"msg":    "【" + sig + "】" + name + " 您好，感谢接听，详情请见官网",
			"varMap": map[string]string{"姓名": name, "联系电话": c.Customer.Phone},
		}},
	}
}

// onState sends ROBOT_CALL_JOB when a task completes, the only job callback Yiwise has.
func (s *Server) onState(t core.Task, from core.State) {
	s.sim.Emitter.Emit(core.Event{Kind: core.KindTask, Name: t.State.String(), TaskID: t.ID, Detail: "from " + from.String()})
	if t.State != core.StateCompleted {
		return
	}
	type job struct {
		RobotCallJobID int64  `json:"robotCallJobId"`
		TenantID       int64  `json:"tenantId"`
		Status         string `json:"status"`
	}
	body := core.MustJSON(callback{DataTypeJob, job{t.ID, s.cfg.TenantID, StatusCompleted}})
	s.sim.Send(DataTypeJob, func() []byte { return body })
}

// record renders a finished call as Yiwise's call record. A call that was not
// answered gets intent level F, its status as the analysis basis and only the early
// media recording, as the vendor's own records show.
func (s *Server) record(c core.Call) record {
	o := c.Outcome
	dir := fmt.Sprintf("%sTenantId%d/CallJobId%d/%d_TaskId_%d/", ossBase, s.cfg.TenantID, c.TaskID, c.ID, c.Customer.ID)
	r := record{
		CallRecordID: c.ID, TenantID: s.cfg.TenantID, RobotCallJobID: c.TaskID, CalledPhoneNumber: c.Customer.Phone,
		ResultStatus: Statuses[o.Status], IntentLevel: "F", CustomerConcern: []string{}, Attributes: []string{},
		AnalysisBasis: Descriptions[o.Status], FullAudioURL: core.Ptr(dir + "early_media.wav"),
		StartTime: core.Local(c.Started), EndTime: core.Local(c.Ended), ChatDuration: o.Duration, ChatRound: o.Rounds,
		RobotCallDetailList: []detail{},
	}
	if !o.Answered() {
		return r
	}
	r.IntentLevel, r.AnalysisBasis = o.Intent, o.Basis
	r.FullAudioURL, r.CustomerAudioURL = core.Ptr(dir+"ai_user.wav"), core.Ptr(dir+"user.wav")
	r.CustomerConcern = append(r.CustomerConcern, o.Concerns...)
	for _, t := range o.Tags {
		r.Attributes = append(r.Attributes, t.Value)
	}
	for _, t := range o.Turns {
		kind := "PERSON"
		if t.Robot {
			kind = "ROBOT"
		}
		r.RobotCallDetailList = append(r.RobotCallDetailList, detail{t.Text, kind})
	}
	return r
}

type recordItem struct {
	CallRecordID       int64    `json:"callRecordId"`
	TenantID           int64    `json:"tenantId"`
	RobotCallJobID     int64    `json:"robotCallJobId"`
	DialogFlowID       int64    `json:"dialogFlowId"`
	RobotCallTaskID    int64    `json:"robotCallTaskId"`
	CustomerPersonID   int64    `json:"customerPersonId"`
	CalledPhoneNumber  string   `json:"calledPhoneNumber"`
	PhoneNumberID      int64    `json:"phoneNumberId"`
	ResultStatus       string   `json:"resultStatus"`
	IntentLevel        string   `json:"intentLevel"`
	RealIntentLevel    *string  `json:"realIntentLevel"`
	CustomerConcern    []string `json:"customerConcern"`
	FullAudioURL       *string  `json:"fullAudioUrl"`
	CustomerAudioURL   *string  `json:"customerAudioUrl"`
	AnalysisBasis      string   `json:"analysisBasis"`
	StartTime          string   `json:"startTime"`
	ChatDuration       int      `json:"chatDuration"`
	ChatRound          int      `json:"chatRound"`
	ManualMarked       bool     `json:"manualMarked"`
	ReadStatus         string   `json:"readStatus"`
	CustomerGroupName  *string  `json:"customerGroupName"`
	RobotCallJobName   string   `json:"robotCallJobName"`
	DialogFlowName     string   `json:"dialogFlowName"`
	CustomerPersonInfo any      `json:"customerPersonInfo"`
	CallDetailList     any      `json:"callDetailList"`
}

func (s *Server) recordItem(c core.Call, r record) recordItem {
	m := c.Meta.(*TaskMeta)
	var line int64
	if len(m.Phones) > 0 {
		line = m.Phones[0].Key
	}
	return recordItem{
		CallRecordID: r.CallRecordID, TenantID: r.TenantID, RobotCallJobID: r.RobotCallJobID, DialogFlowID: m.DialogFlowID,
		RobotCallTaskID: c.Customer.ID, CustomerPersonID: c.Customer.ID, CalledPhoneNumber: r.CalledPhoneNumber,
		PhoneNumberID: line, ResultStatus: r.ResultStatus, IntentLevel: r.IntentLevel, CustomerConcern: r.CustomerConcern,
		FullAudioURL: r.FullAudioURL, CustomerAudioURL: r.CustomerAudioURL, AnalysisBasis: r.AnalysisBasis,
		StartTime: r.StartTime, ChatDuration: r.ChatDuration, ChatRound: r.ChatRound, ReadStatus: "NOT_READ",
		RobotCallJobName: m.Name, DialogFlowName: dialogFlowName(m.DialogFlowID),
	}
}

// callDetail is phoneLogInfo's answer.
func (s *Server) callDetail(c core.Call) map[string]any {
	r := s.record(c)
	started := c.Started.In(core.Shanghai())
	return map[string]any{
		"callRecordId": r.CallRecordID, "customerAudioUrl": r.CustomerAudioURL,
		"startTime": started.Format("2006-01-02T15:04:05"), "chatRound": r.ChatRound, "chatDuration": r.ChatDuration,
		"customerPerson": map[string]any{
			"customerPersonId": c.Customer.ID, "creationTime": started.Format("2006-01-02 15:04"), "tenantId": s.cfg.TenantID,
			"customerGroupId": nil, "name": c.Customer.Name, "phoneNumber": c.Customer.Phone, "wechatNumber": nil,
			"source": "UPLOADED_BY_YOURSELF", "lastEmotion": "UNKNOWN", "customerLevel": "UNKNOWN", "gender": "UNKNOWN",
			"followUserId": nil, "followStatus": "AI_INITIAL_VISIT", "properties": orEmpty(c.Customer.Properties),
			"lastFollowTime": core.Local(c.Ended), "lastChatDuration": r.ChatDuration, "lastStartTime": r.StartTime,
			"attributes": r.Attributes, "lastIntentLevel": r.IntentLevel, "lastDialStatus": r.ResultStatus,
			"assignTime": core.Local(c.Ended), "customerGroupName": nil,
		},
		"resultStatus": r.ResultStatus, "intentLevel": r.IntentLevel, "realIntentLevel": nil,
		"customerConcern": r.CustomerConcern, "fullAudioUrl": r.FullAudioURL, "analysisBasis": r.AnalysisBasis,
		"callDetailList": r.RobotCallDetailList, "manualMarked": false, "robotCallJobId": r.RobotCallJobID,
		"attributes": r.Attributes,
	}
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

type taskItem struct {
	RobotCallJobID    int64   `json:"robotCallJobId"`
	Name              string  `json:"name"`
	Status            string  `json:"status"`
	CompletedTask     int     `json:"completedTask"`
	TaskCallTotal     int     `json:"taskCallTotal"`
	CreationTime      string  `json:"creationTime"`
	CreatedByUserName *string `json:"createdByUserName"`
	OrganizationName  *string `json:"organizationName"`
}

func (s *Server) taskItem(t core.Task) taskItem {
	return taskItem{
		RobotCallJobID: t.ID, Name: t.Name, Status: taskStatus(t.State),
		CompletedTask: len(t.CallIDs), TaskCallTotal: len(t.Customers), CreationTime: core.Local(t.Created)[:16],
	}
}

// taskDetail is getTaskDetail's answer, statistics computed from the task's calls.
func (s *Server) taskDetail(t core.Task) map[string]any {
	m := t.Meta.(*TaskMeta)
	var startTime any
	if m.StartTime != "" {
		startTime = m.StartTime
	}
	intents := map[string]int{}
	for _, l := range core.IntentLevels {
		intents[l] = 0
	}
	dial := map[string]int{}
	for _, st := range Statuses {
		dial[st] = 0
	}
	rounds := map[string]int{"LESS_3": 0, "F3_T6": 0, "F6_T10": 0, "F10_MORE": 0}
	durations := map[string]int{"LESS_10S": 0, "F10S_T1MIN": 0, "F1MIN_T2MIN": 0, "F2MIN_T3MIN": 0, "F3MIN_TMORE": 0}
	concerns := map[string]bool{}
	answered, talk := 0, 0
	for _, c := range s.eng.Calls(t.ID) {
		r := s.record(c)
		dial[r.ResultStatus]++
		intents[r.IntentLevel]++
		if !c.Outcome.Answered() {
			continue
		}
		answered++
		talk += r.ChatDuration
		rounds[bucket(r.ChatRound, []int{3, 6, 10}, []string{"LESS_3", "F3_T6", "F6_T10", "F10_MORE"})]++
		durations[bucket(r.ChatDuration, []int{10, 60, 120, 180}, []string{"LESS_10S", "F10S_T1MIN", "F1MIN_T2MIN", "F2MIN_T3MIN", "F3MIN_TMORE"})]++
		for _, x := range r.CustomerConcern {
			concerns[x] = true
		}
	}
	done := len(t.CallIDs)
	var progress, rate float64
	if len(t.Customers) > 0 {
		progress = float64(done) * 100 / float64(len(t.Customers))
	}
	if done > 0 {
		rate = float64(answered) * 100 / float64(done)
	}
	concernList := make([]string, 0, len(concerns))
	for x := range concerns {
		concernList = append(concernList, x)
	}
	sort.Strings(concernList)
	return map[string]any{
		"robotCallJob": map[string]any{
			"robotCallJobId": t.ID, "tenantId": s.cfg.TenantID, "dialogFlowId": m.DialogFlowID, "name": m.Name,
			"mode": m.Mode, "robotCount": m.RobotCount, "smsTemplateId": nil, "phoneType": m.PhoneType,
			"dailyStartTime": core.Seconds(m.DailyStartTime), "dailyEndTime": core.Seconds(m.DailyEndTime),
			"inactiveStartTime": orMidnight(m.InactiveStartTime), "inactiveEndTime": orMidnight(m.InactiveEndTime),
			"description": m.Description, "wechatAlertLevel": []string{}, "smsAlertLevel": []string{}, "alertUsers": []int64{},
			"wechatSendMethod": m.WechatSendMethod, "status": taskStatus(t.State), "startTime": startTime,
			"nextStartTime": "00:00:00", "creationTime": core.Local(t.Created), "lastModifiedTime": core.Local(t.Modified),
			"earlyWarningAlertUsers": []int64{},
		},
		"jobPhoneNumberList": m.Phones, "completedTask": done, "taskCallTotal": len(t.Customers),
		"createdByUserName": "API", "organizationName": "系统内置", "dialogFlowName": dialogFlowName(m.DialogFlowID),
		"smsTemplateName": nil, "systemPauseNextStart": nil,
		"callJobStatsInfo": map[string]any{
			"taskProgress": progress, "answeredRate": rate, "intentLevel": intents, "taskCallTotal": len(t.Customers),
			"answeredTask": answered, "chatDurationTotal": talk, "completedTask": done, "customerConcern": concernList,
			"dialResult": dial, "chatRound": rounds, "chatDuration": durations,
			"callJobStatsBrokenLine": map[string]any{
				"taskCallCompletedList": []any{}, "answeredTaskList": []any{}, "answeredTaskRateList": []any{},
				"chatDurationTotalList": []any{}, "averageDurationList": []any{},
			},
		},
	}
}

func orMidnight(s string) string {
	if s == "" {
		return "00:00:00"
	}
	return core.Seconds(s)
}

// bucket names the range v falls in: names[i] for v < bounds[i], the last name above.
func bucket(v int, bounds []int, names []string) string {
	for i, b := range bounds {
		if v < b {
			return names[i]
		}
	}
	return names[len(names)-1]
}
