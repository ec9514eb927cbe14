package yiwisesim

import (
	"net/http"
	"slices"
	"strings"

	"github.com/callbridge/callbridge/internal/simulator/core"
)

// The current (job) family: yiwise-current/task.md, obtainTask.md, callRecord.md,
// tenant.md, and job/oneTimeCall as the vendor's sample code sends it.

// jobPhoneTypes adds the policy group the job API knows.
var jobPhoneTypes = append(slices.Clone(phoneTypes), "CALL_POLICY_GROUP")

// redialConditions are the documented redialCondition values.
var redialConditions = []string{"CALL_LOSS", "NO_ANSWER", "BUSY", "REFUSED", "POWER_OFF", "OUT_OF_SERVICE", "CAN_NOT_CONNECT", "FROM_PHONE_ERROR", "SYSTEM_ERROR"}

// jobStatusCodes are the job API's states (obtainTask.md), indexed by their numbers.
var jobStatusCodes = map[string]bool{StatusNotStarted: true, StatusInProcess: true, StatusCompleted: true, "RUNNABLE": true,
	StatusUserPause: true, "SYSTEM_SUSPENDED": true, StatusTerminate: true, "IN_QUEUE": true, "SYSTEM_HANG_UP": true,
	"WAITING_FOR_REDIAL": true, "ACCOUNT_DISABLE": true, "MAINTAIN": true}

func (s *Server) jobEndpoints() []core.Endpoint {
	get, post := http.MethodGet, http.MethodPost
	return []core.Endpoint{
		{Name: "tenant/getTenant", Method: get, Handle: func(*core.Params) core.Reply {
			return core.OK("获取成功", map[string]any{"tenantId": s.cfg.TenantID, "tenantName": s.cfg.CompanyName})
		}},
		{Name: "phone/getPhoneList", Method: get, Handle: func(*core.Params) core.Reply { return core.OK("获取成功", phoneList()) }},
		{Name: "dialogFlow/getDialogFlowList", Method: get, Handle: func(*core.Params) core.Reply { return core.OK("获取成功", dialogFlows()) }},
		{Name: "job/create", Method: post, Handle: s.createJob},
		{Name: "job/start", Method: post, Handle: s.control((*core.Engine).Start)},
		{Name: "job/pause", Method: post, Handle: s.control((*core.Engine).Pause)},
		{Name: "job/stop", Method: post, Handle: s.control((*core.Engine).Stop)},
		{Name: "job/delete", Method: post, Handle: s.deleteTask},
		{Name: "job/importCustomer", Method: post, Handle: s.importCustomers},
		{Name: "job/updateAiCount", Method: post, Handle: s.update},
		{Name: "job/modify", Method: http.MethodPatch, Handle: s.modifyJob},
		{Name: "job/oneTimeCall", Method: post, Handle: s.oneTimeCall},
		{Name: "job/getJobs", Method: get, Handle: s.getJobs},
		{Name: "job/getJobDetail", Method: get, Handle: s.getJobDetail},
		{Name: "job/getJobStats", Method: get, Handle: s.getJobStats},
		{Name: "callRecord/getCallRecordInfoList", Method: post, Handle: s.getJobCallRecords},
		{Name: "callRecord/callDetail", Method: get, Handle: s.jobCallDetail},
		{Name: "callRecord/toBeCalledList", Method: get, Handle: s.toBeCalledList},
	}
}

func phoneList() []map[string]any {
	out := make([]map[string]any, 0, len(phones))
	for _, p := range phones {
		out = append(out, map[string]any{
			"tenantPhoneNumberId": p.UserPhoneID, "phoneNumber": p.Phone, "phoneName": p.PhoneName, "phoneType": p.PhoneType,
			"localBillRate": 60, "otherBillRate": 60, "callOutIndustry": "FINANCE", "areaCode": "0571", "province": "浙江", "city": "杭州",
		})
	}
	return out
}

func dialogFlows() []map[string]any {
	out := make([]map[string]any, 0, len(robots))
	for _, r := range robots {
		out = append(out, map[string]any{
			"dialogFlowId": r.RobotDialogFlowID, "name": r.Name, "industry": r.Industry.Name, "subIndustry": r.SubIndustry.Name,
			"intentLevelTagId": 0, "status": r.Status, "createTime": "2019-07-01 10:00:00",
		})
	}
	return out
}

// readJob reads the body of job/create and job/modify into m.
func (s *Server) readJob(p *core.Params, m *TaskMeta) *core.Params {
	job := p.Obj("robotCallJob")
	m.Job = true
	m.Name = job.Str("name")
	m.Mode = job.Str("mode")
	m.StartTime = job.OptStr("startTime", "")
	m.DailyStartTime = job.Str("dailyStartTime")
	m.DailyEndTime = job.Str("dailyEndTime")
	m.DialogFlowID = job.Int("dialogFlowId")
	m.PhoneType = job.Str("phoneType")
	m.RobotCount = job.Int("robotCount")
	m.Description = job.OptStr("description", "")
	m.WechatSendMethod = job.OptStr("wechatSendMethod", "SENDTOALL")
	m.TenantID = job.OptInt("tenantId", 0)
	m.ConcurrencyQuota = p.OptInt("concurrencyQuota", 0)
	m.RedialCondition = nil
	if job.Err() == nil {
		m.RedialCondition = job.Strs("redialCondition")
	}
	m.RedialInterval = job.OptInt("redialInterval", 0)
	m.RedialTimes = job.OptInt("redialTimes", 0)
	m.InactiveTimeList = []Span{}
	for _, raw := range job.OptList("inactiveTimeList") {
		e, err := core.ParseObject(raw)
		if err != nil {
			job.Fail("inactiveTimeList", "element is not an object")
			break
		}
		sp := Span{e.Str("startTime"), e.Str("endTime")}
		if e.Err() != nil || !core.ValidClock(sp.StartTime) || !core.ValidClock(sp.EndTime) {
			job.Fail("inactiveTimeList", "element is not {startTime, endTime} in HH:mm")
			break
		}
		m.InactiveTimeList = append(m.InactiveTimeList, sp)
	}
	if len(m.InactiveTimeList) > 3 {
		job.Fail("inactiveTimeList", "has more than three spans")
	}
	for _, name := range []string{"alertUsers", "earlyWarningAlertUsers", "smsAlertLevel", "wechatAlertLevel", "wechatAlertLevelCode", "smsAlertLevelCode", "wechatConditionAlertLevelCode"} {
		job.OptList(name)
	}
	p.OptList("transferPhoneNumber")
	m.Phones = nil
	for _, id := range p.Ints("jobPhoneNumberIdList") {
		l, ok := lineByID(id)
		if !ok {
			p.Fail("jobPhoneNumberIdList", "names a line the tenant does not have")
			break
		}
		m.Phones = append(m.Phones, PhoneNumber{Key: id, Value: l.Phone})
	}
	if p.Err() == nil && job.Err() == nil {
		checkTask(job, m)
		if !slices.Contains(jobPhoneTypes, m.PhoneType) {
			job.Fail("phoneType", "is not a known phone type")
		}
		if len(m.Phones) == 0 {
			p.Fail("jobPhoneNumberIdList", "is empty")
		}
		if m.TenantID != 0 && m.TenantID != s.cfg.TenantID {
			job.Fail("tenantId", "is not the caller's tenant")
		}
		// 可拨打开始时间，不可以早于9点 / 结束时间，不可以晚于20点.
		if m.DailyStartTime < "09:00" || m.DailyEndTime > "20:00" {
			job.Fail("dailyStartTime", "the daily window must lie within 09:00–20:00")
		}
		if len(m.RedialCondition) > 0 {
			for _, c := range m.RedialCondition {
				if !slices.Contains(redialConditions, c) {
					job.Fail("redialCondition", "is not a known condition")
				}
			}
			if m.RedialInterval < 6 || m.RedialInterval > 24*60 {
				job.Fail("redialInterval", "must be 6…1440 minutes")
			}
			if m.RedialTimes < 1 || m.RedialTimes > 10 {
				job.Fail("redialTimes", "must be 1…10")
			}
		}
	}
	return job
}

func (s *Server) createJob(p *core.Params) core.Reply {
	m := &TaskMeta{}
	job := s.readJob(p, m)
	if p.Err() != nil || job.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	t := s.eng.CreateTask(m.Name, int(m.RobotCount), m)
	return core.Reply{Code: core.CodeOK, Msg: "修改成功", Data: map[string]int64{"robotCallJobId": t.ID}, TaskID: t.ID}
}

// modifyJob replaces a job's settings (PATCH job/modify); the id is robotCallJob's
// robotCallJobId, as the vendor's 2022 sample sends it, or a top-level one.
func (s *Server) modifyJob(p *core.Params) core.Reply {
	id := p.Obj("robotCallJob").OptInt("robotCallJobId", 0)
	if id == 0 {
		id = p.Int("robotCallJobId")
	}
	m := &TaskMeta{}
	job := s.readJob(p, m)
	if p.Err() != nil || job.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	err := s.eng.Update(id, func(t *core.Task) error {
		t.Meta, t.Name, t.Concurrency = m, m.Name, int(m.RobotCount)
		return nil
	})
	if err != nil {
		return core.TaskError(err)
	}
	return core.Reply{Code: core.CodeOK, Msg: "修改成功", Data: map[string]int64{"robotCallJobId": id}, TaskID: id}
}

// oneTimeCall places one call per customer at once, outside any task. Its answer is
// not documented; the simulator answers data null.
func (s *Server) oneTimeCall(p *core.Params) core.Reply {
	flow := p.Int("dialogFlowId")
	lines := p.Ints("jobPhoneNumberIdList")
	phoneType := p.Str("phoneType")
	list := p.List("customerPersons")
	if p.Err() == nil {
		if len(lines) == 0 {
			p.Fail("jobPhoneNumberIdList", "is empty")
		}
		if !slices.Contains(jobPhoneTypes, phoneType) {
			p.Fail("phoneType", "is not a known phone type")
		}
		if len(list) == 0 {
			p.Fail("customerPersons", "is empty")
		}
	}
	m := &TaskMeta{Job: true, Name: "快速任务", Mode: "MANUAL", DialogFlowID: flow, PhoneType: phoneType, RobotCount: 1}
	for _, id := range lines {
		l, ok := lineByID(id)
		if !ok {
			p.Fail("jobPhoneNumberIdList", "names a line the tenant does not have")
			break
		}
		m.Phones = append(m.Phones, PhoneNumber{Key: id, Value: l.Phone})
	}
	var custs []core.Customer
	for _, raw := range list {
		c, err := core.ParseObject(raw)
		if err != nil {
			p.Fail("customerPersons", "element is not an object")
			break
		}
		cust := core.Customer{Name: c.OptStr("name", ""), Phone: c.Str("phoneNumber"), Properties: c.StrMap("properties")}
		if c.Err() != nil || !core.ValidMobile(cust.Phone) {
			p.Fail("customerPersons", "element has no valid phoneNumber")
			break
		}
		custs = append(custs, cust)
	}
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	var last int64
	for _, c := range custs {
		last = s.eng.SingleCall(c, m)
	}
	return core.Reply{Code: core.CodeOK, Msg: "执行成功", CallID: last}
}

func (s *Server) getJobs(p *core.Params) core.Reply {
	name := p.OptStr("name", "")
	status := p.OptStr("status", "")
	pageNum, pageSize := int(p.OptInt("pageNum", 1)), int(p.OptInt("pageSize", 20))
	if p.Err() == nil {
		if status != "" && !jobStatusCodes[status] {
			p.Fail("status", "is not a job status")
		}
		if pageSize < 1 || pageSize > 100 {
			p.Fail("pageSize", "must be 1…100")
		}
	}
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	var items []map[string]any
	for _, t := range s.eng.Tasks() {
		if name != "" && !strings.Contains(t.Name, name) || status != "" && taskStatus(t.State) != status {
			continue
		}
		items = append(items, map[string]any{
			"robotCallJobId": t.ID, "name": t.Name, "status": taskStatus(t.State), "completedTask": len(t.CallIDs),
			"taskCallTotal": len(t.Customers), "createTime": core.Local(t.Created)[:16], "createdByUserName": nil, "organizationName": nil,
		})
	}
	return core.OK("获取成功", newPage(items, pageNum, pageSize))
}

func (s *Server) jobOf(p *core.Params) (core.Task, *core.Reply) {
	id := p.Int("robotCallJobId")
	if p.Err() != nil {
		r := core.Fail(core.CodeBadParam)
		return core.Task{}, &r
	}
	t, ok := s.liveTask(id)
	if !ok {
		r := core.Fail(core.CodeNotFound)
		return core.Task{}, &r
	}
	return t, nil
}

func (s *Server) getJobDetail(p *core.Params) core.Reply {
	t, fail := s.jobOf(p)
	if fail != nil {
		return *fail
	}
	m := t.Meta.(*TaskMeta)
	spans := m.InactiveTimeList
	if spans == nil {
		spans = []Span{}
		if m.InactiveStartTime != "" {
			spans = append(spans, Span{m.InactiveStartTime, m.InactiveEndTime})
		}
	}
	var startTime any
	if m.StartTime != "" {
		startTime = m.StartTime
	}
	conds := m.RedialCondition
	if conds == nil {
		conds = []string{}
	}
	lines := []map[string]any{}
	for _, ph := range m.Phones {
		l, _ := lineByID(ph.Key)
		quota := m.ConcurrencyQuota
		if quota == 0 {
			quota = m.RobotCount
		}
		lines = append(lines, map[string]any{"tenantPhoneNumberId": ph.Key, "phoneNumber": ph.Value, "phoneName": l.PhoneName,
			"enabledStatus": 1, "phoneType": l.PhoneType, "concurrencyQuota": quota})
		quota = 0
	}
	return core.Reply{Code: core.CodeOK, Msg: "获取成功", TaskID: t.ID, Data: map[string]any{
		"robotCallJob": map[string]any{
			"robotCallJobId": t.ID, "tenantId": s.cfg.TenantID, "dialogFlowId": m.DialogFlowID, "dialogFlowName": dialogFlowName(m.DialogFlowID),
			"name": m.Name, "mode": m.Mode, "robotCount": m.RobotCount, "smsTemplateId": nil, "phoneType": m.PhoneType,
			"dailyStartTime": core.Seconds(m.DailyStartTime), "dailyEndTime": core.Seconds(m.DailyEndTime), "inactiveTimeList": spans,
			"description": m.Description, "wechatAlertLevel": []string{}, "wechatAlertLevelCode": []int{}, "smsAlertLevel": []string{},
			"smsAlertLevelCode": []int{}, "wechatConditionAlertLevel": []string{}, "wechatConditionAlertLevelCode": []int{},
			"alertUsers": []int64{}, "wechatSendMethod": m.WechatSendMethod, "status": taskStatus(t.State), "startTime": startTime,
			"nextStartTime": "00:00:00", "createTime": core.Local(t.Created), "updateTime": core.Local(t.Modified),
			"earlyWarningAlertUsers": []int64{}, "redialCondition": conds, "redialInterval": m.RedialInterval, "redialTimes": m.RedialTimes,
		},
		"jobPhoneNumberList": lines, "transferPhoneNumber": []string{},
		"completedTask": len(t.CallIDs), "taskCallTotal": len(t.Customers),
	}}
}

func (s *Server) getJobStats(p *core.Params) core.Reply {
	t, fail := s.jobOf(p)
	if fail != nil {
		return *fail
	}
	stats := s.taskDetail(t)["callJobStatsInfo"].(map[string]any)
	return core.Reply{Code: core.CodeOK, Msg: "获取成功", Data: stats, TaskID: t.ID}
}

func (s *Server) getJobCallRecords(p *core.Params) core.Reply {
	id := p.Int("robotCallJobId")
	statuses, levels := p.Strs("resultStatuses"), p.Strs("intentLevels")
	callID := p.OptInt("callRecordId", 0)
	pageNum, pageSize := int(p.OptInt("pageNum", 1)), int(p.OptInt("pageSize", 20))
	if p.Err() == nil && (pageSize < 1 || pageSize > 100) {
		p.Fail("pageSize", "must be 1…100")
	}
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	t, ok := s.liveTask(id)
	if !ok {
		return core.Fail(core.CodeNotFound)
	}
	var items []map[string]any
	for _, c := range s.eng.Calls(t.ID) {
		r := s.record(c)
		if len(statuses) > 0 && !slices.Contains(statuses, r.ResultStatus) || len(levels) > 0 && !slices.Contains(levels, r.IntentLevel) ||
			callID != 0 && c.ID != callID {
			continue
		}
		it := s.recordItem(c, r)
		items = append(items, map[string]any{
			"hangupBy": hangupBy(c), "callRecordId": it.CallRecordID, "tenantId": it.TenantID, "robotCallJobId": it.RobotCallJobID,
			"dialogFlowId": it.DialogFlowID, "robotCallTaskId": it.RobotCallTaskID, "customerPersonId": it.CustomerPersonID,
			"calledPhoneNumber": it.CalledPhoneNumber, "phoneNumberId": it.PhoneNumberID, "resultStatus": it.ResultStatus,
			"intentLevel": it.IntentLevel, "intentLevelName": intentName(it.IntentLevel), "realIntentLevel": nil,
			"realIntentLevelName": nil, "intentLevelTagId": 0, "customerConcern": it.CustomerConcern,
			"fullAudioUrl": it.FullAudioURL, "customerAudioUrl": it.CustomerAudioURL, "analysisBasis": it.AnalysisBasis,
			"startTime": it.StartTime, "chatDuration": it.ChatDuration, "chatRound": it.ChatRound, "readStatus": "NOT_READ",
			"redialTimes": 0, "callDetailList": jobDetails(r.RobotCallDetailList),
		})
	}
	return core.Reply{Code: core.CodeOK, Msg: "获取成功", Data: newPage(items, pageNum, pageSize), TaskID: id}
}

// taskStatuses are toBeCalledList's taskStatus filter values (callRecord.md).
var taskStatuses = []string{"NOT_STARTED", "IN_PROCESS", "COMPLETED", "RETRY", "AUTO_RETRY", "IN_CACHE"}

// toBeCalled is one item of callRecord/toBeCalledList. The simulator numbers a
// customer's call task with the customer's id, as its call records do.
type toBeCalled struct {
	RobotCallTaskID         int64             `json:"robotCallTaskId"`
	CustomerPersonID        int64             `json:"customerPersonId"`
	CustomerPersonName      string            `json:"customerPersonName"`
	CalledPhoneNumber       string            `json:"calledPhoneNumber"`
	CustomerPersonGroupName string            `json:"customerPersonGroupName"`
	Status                  string            `json:"status"`
	InWhiteList             bool              `json:"inWhiteList"`
	Properties              map[string]string `json:"properties"`
	InShareWhiteList        *bool             `json:"inShareWhiteList"`
}

// toBeCalledList lists a job's customers not dialled yet (all NOT_STARTED: the
// simulator neither caches nor retries), filtered by calledPhoneNumber and taskStatus.
func (s *Server) toBeCalledList(p *core.Params) core.Reply {
	id := p.Int("robotCallJobId")
	phone := p.OptStr("calledPhoneNumber", "")
	status := p.OptStr("taskStatus", "")
	pageNum, pageSize := int(p.OptInt("pageNum", 1)), int(p.OptInt("pageSize", 20))
	if p.Err() == nil {
		if status != "" && !slices.Contains(taskStatuses, status) {
			p.Fail("taskStatus", "is not a call status")
		}
		if pageNum < 1 {
			p.Fail("pageNum", "must be at least 1")
		}
		if pageSize < 1 || pageSize > 100 {
			p.Fail("pageSize", "must be 1…100")
		}
	}
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	t, ok := s.liveTask(id)
	if !ok {
		return core.Fail(core.CodeNotFound)
	}
	items := []toBeCalled{}
	for _, c := range t.Customers[t.Dialed:] {
		if phone != "" && c.Phone != phone || status != "" && status != StatusNotStarted {
			continue
		}
		items = append(items, toBeCalled{
			RobotCallTaskID: c.ID, CustomerPersonID: c.ID, CustomerPersonName: c.Name, CalledPhoneNumber: c.Phone,
			Status: StatusNotStarted, Properties: orEmpty(c.Properties),
		})
	}
	return core.Reply{Code: core.CodeOK, Msg: "执行成功", Data: newPage(items, pageNum, pageSize), TaskID: id}
}

func (s *Server) jobCallDetail(p *core.Params) core.Reply {
	id := p.Int("callRecordId")
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	c, ok := s.eng.Call(id)
	if !ok {
		return core.Fail(core.CodeNotFound)
	}
	d := s.callDetail(c)
	r := s.record(c)
	d["endTime"] = c.Ended.In(core.Shanghai()).Format("2006-01-02T15:04:05")
	d["intentLevelName"], d["realIntentLevelName"], d["intentLevelTagId"] = intentName(r.IntentLevel), nil, 0
	d["callDetailList"] = jobDetails(r.RobotCallDetailList)
	d["redialTimes"] = 0
	return core.Reply{Code: core.CodeOK, Msg: "执行成功", Data: d, CallID: id}
}

// jobDetail is a transcript turn of the current API, with its id.
type jobDetail struct {
	Text         string `json:"text"`
	Type         string `json:"type"`
	CallDetailID int64  `json:"callDetailId"`
}

func jobDetails(ds []detail) []jobDetail {
	out := make([]jobDetail, 0, len(ds))
	for i, d := range ds {
		out = append(out, jobDetail{d.Text, d.Type, int64(i + 1)})
	}
	return out
}

func hangupBy(c core.Call) any {
	if !c.Outcome.Answered() {
		return nil
	}
	return "REMOTE_HANGUP"
}

func intentName(level string) string {
	return map[string]string{"A": "很好", "B": "好", "C": "一般", "D": "较差", "E": "需跟进", "F": "无需跟进"}[level] + ""
}
