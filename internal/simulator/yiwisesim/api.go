package yiwisesim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callbridge/callbridge/internal/simulator/core"
)

// PhoneNumber is one entry of jobPhoneNumberList: the caller line id and its number.
type PhoneNumber struct {
	Key   int64  `json:"key"`
	Value string `json:"value"`
}

// TaskMeta is what a Yiwise task was created (or last updated) with. Snapshots carry
// it in Task.Meta; it is replaced on update, never changed in place.
type TaskMeta struct {
	Name              string
	Mode              string // AUTO or MANUAL
	StartTime         string
	DailyStartTime    string
	DailyEndTime      string
	InactiveStartTime string
	InactiveEndTime   string
	DialogFlowID      int64
	PhoneType         string
	RobotCount        int64
	Description       string
	WechatSendMethod  string
	Phones            []PhoneNumber
	// Job is true for a task made through job/create (or a one-time call).
	Job bool
	// InactiveTimeList, ConcurrencyQuota and the redial settings are the job API's.
	InactiveTimeList []Span
	ConcurrencyQuota int64
	RedialCondition  []string
	RedialInterval   int64
	RedialTimes      int64
	TenantID         int64
}

// Span is one entry of inactiveTimeList.
type Span struct {
	StartTime string `json:"startTime"`
	EndTime   string `json:"endTime"`
}

var phoneTypes = []string{"MOBILE", "LANDLINE", "UNFIXED_CALL", "VERBAL_TRICK_TRAINING_CALLER", "VERBAL_TRICK_TRAINING_CALLED", "VOIP_DEVICE"}

type phone struct {
	UserPhoneID int64  `json:"userPhoneId"`
	Phone       string `json:"phone"`
	PhoneName   string `json:"phoneName"`
	PhoneType   string `json:"phoneType"`
	Concurrency int    `json:"concurrency"`
}

var phones = []phone{
	{276, "13900000276", "手机线路", "MOBILE", 2},
	{348, "057188886666", "杭州固话", "LANDLINE", 10},
	{349, "14000000349", "无主叫线路", "UNFIXED_CALL", 20},
}

type named struct {
	Name string `json:"name"`
	Desc string `json:"desc"`
}

type robot struct {
	RobotDialogFlowID    int64  `json:"robotDialogFlowId"`
	Name                 string `json:"name"`
	Type                 string `json:"type"`
	Industry             named  `json:"industry"`
	SubIndustry          named  `json:"subIndustry"`
	FamilyNameTemplateID *int64 `json:"familyNameTemplateId"`
	Status               string `json:"status"`
}

var robots = []robot{
	{96, "金融理财--行业体验demo", "NORMAL", named{"FINANCE", "金融类"}, named{"FINICING", "理财"}, nil, "DRAFT"},
	{136, "房产推广", "NORMAL", named{"REAL_ESTATE", "房产类"}, named{"HOUSE", "住宅"}, nil, "APPROVED"},
}

func lineByID(id int64) (phone, bool) {
	for _, l := range phones {
		if l.UserPhoneID == id {
			return l, true
		}
	}
	return phone{}, false
}

func dialogFlowName(id int64) string {
	for _, r := range robots {
		if r.RobotDialogFlowID == id {
			return r.Name
		}
	}
	return "模拟话术"
}

func (s *Server) endpoints() []core.Endpoint {
	get, post := http.MethodGet, http.MethodPost
	return append([]core.Endpoint{
		{Name: "company/getCompanies", Method: get, Handle: s.getCompanies},
		{Name: "company/getPhones", Method: get, Handle: func(*core.Params) core.Reply { return core.OK("获取成功", phones) }},
		{Name: "company/getRobots", Method: get, Handle: func(*core.Params) core.Reply { return core.OK("获取成功", robots) }},
		{Name: "task/createTask", Method: post, Handle: s.createTask},
		{Name: "task/start", Method: post, Handle: s.control((*core.Engine).Start)},
		{Name: "task/pause", Method: post, Handle: s.control((*core.Engine).Pause)},
		{Name: "task/stop", Method: post, Handle: s.control((*core.Engine).Stop)},
		{Name: "task/delete", Method: post, Handle: s.deleteTask},
		{Name: "task/importTaskCustomer", Method: post, Handle: s.importCustomers},
		{Name: "task/update", Method: post, Handle: s.update},
		{Name: "task/getTasks", Method: get, Handle: s.getTasks},
		{Name: "task/getTaskDetail", Method: get, Handle: s.getTaskDetail},
		{Name: "task/getCallRecordInfoList", Method: post, Handle: s.getCallRecords},
		{Name: "task/phoneLogInfo", Method: get, Handle: s.phoneLogInfo},
	}, s.jobEndpoints()...)
}

func (s *Server) getCompanies(*core.Params) core.Reply {
	return core.OK("获取成功", map[string]any{"tenantId": s.cfg.TenantID, "companyName": s.cfg.CompanyName})
}

func (s *Server) createTask(p *core.Params) core.Reply {
	job := p.Obj("robotCallJob")
	m := &TaskMeta{
		Name:              job.Str("name"),
		Mode:              job.Str("mode"),
		StartTime:         job.Str("startTime"),
		DailyStartTime:    job.Str("dailyStartTime"),
		DailyEndTime:      job.Str("dailyEndTime"),
		InactiveStartTime: job.OptStr("inactiveStartTime", ""),
		InactiveEndTime:   job.OptStr("inactiveEndTime", ""),
		DialogFlowID:      job.Int("dialogFlowId"),
		PhoneType:         job.Str("phoneType"),
		RobotCount:        job.Int("robotCount"),
		Description:       job.OptStr("description", ""),
		WechatSendMethod:  job.OptStr("wechatSendMethod", "SENDTOALL"),
	}
	m.TenantID = job.OptInt("tenantId", 0)
	job.OptInt("smsTemplateId", 0)
	for _, name := range []string{"alertUsers", "earlyWarningAlertUsers", "smsAlertLevel", "wechatAlertLevel"} {
		job.OptList(name)
	}
	for _, raw := range p.List("jobPhoneNumberList") {
		e, err := core.ParseObject(raw)
		if err != nil {
			p.Fail("jobPhoneNumberList", "element is not an object")
			break
		}
		n := PhoneNumber{Key: e.Int("key"), Value: e.OptStr("value", "")}
		if e.Err() != nil {
			p.Fail("jobPhoneNumberList", e.Err().Error())
			break
		}
		// The value is the line's number (task.md: "val是线路号码").
		if l, ok := lineByID(n.Key); ok && n.Value != l.Phone {
			p.Fail("jobPhoneNumberList", "value is not the line's number")
			break
		}
		m.Phones = append(m.Phones, n)
	}
	if p.Err() == nil && job.Err() == nil {
		checkTask(job, m)
		if len(m.Phones) == 0 {
			p.Fail("jobPhoneNumberList", "is empty")
		}
	}
	if p.Err() != nil || job.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	t := s.eng.CreateTask(m.Name, int(m.RobotCount), m)
	return core.Reply{Code: core.CodeOK, Msg: "修改成功", Data: t.ID, TaskID: t.ID}
}

// checkTask validates the enumerations, times and counts of a task.
func checkTask(p *core.Params, m *TaskMeta) {
	if m.Mode != "AUTO" && m.Mode != "MANUAL" {
		p.Fail("mode", "must be AUTO or MANUAL")
	}
	if !slices.Contains(phoneTypes, m.PhoneType) {
		p.Fail("phoneType", "is not a known phone type")
	}
	if m.RobotCount < 1 {
		p.Fail("robotCount", "must be at least 1")
	}
	// The job API needs startTime only for AUTO jobs.
	if m.StartTime != "" || !m.Job || m.Mode == "AUTO" {
		if _, err := time.Parse(core.DateTime, m.StartTime); err != nil {
			p.Fail("startTime", "is not yyyy-MM-dd HH:mm:ss")
		}
	}
	for name, v := range map[string]string{
		"dailyStartTime": m.DailyStartTime, "dailyEndTime": m.DailyEndTime,
		"inactiveStartTime": m.InactiveStartTime, "inactiveEndTime": m.InactiveEndTime,
	} {
		if v != "" && !core.ValidClock(v) {
			p.Fail(name, "is not HH:mm")
		}
	}
}

// control answers start, pause and stop.
func (s *Server) control(op func(*core.Engine, int64) error) func(*core.Params) core.Reply {
	return func(p *core.Params) core.Reply {
		id := p.Int("robotCallJobId")
		if p.Err() != nil {
			return core.Fail(core.CodeBadParam)
		}
		if err := op(s.eng, id); err != nil {
			return core.TaskError(err)
		}
		return core.Reply{Code: core.CodeOK, Msg: "修改成功", TaskID: id}
	}
}

// deleteTask accepts the id as a number (the table) or a string (the example).
func (s *Server) deleteTask(p *core.Params) core.Reply {
	id := p.IntOrStr("robotCallJobId")
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	if err := s.eng.Delete(id); err != nil {
		return core.TaskError(err)
	}
	return core.Reply{Code: core.CodeOK, Msg: "删除成功", TaskID: id}
}

func (s *Server) importCustomers(p *core.Params) core.Reply {
	id := p.Int("robotCallJobId")
	list := p.List("customerPersons")
	if s.cfg.MaxImportBatch > 0 && len(list) > s.cfg.MaxImportBatch {
		p.Fail("customerPersons", "is too long")
	}
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	var ok []core.Customer
	dropped := 0
	for _, raw := range list {
		c, err := core.ParseObject(raw)
		if err != nil {
			return core.Fail(core.CodeBadParam)
		}
		cust := core.Customer{Name: c.OptStr("name", ""), Phone: c.OptStr("phoneNumber", ""), Properties: c.StrMap("properties")}
		if c.Err() != nil {
			return core.Fail(core.CodeBadParam)
		}
		// Yiwise answers data null and silently leaves out numbers it cannot dial.
		if !core.ValidMobile(cust.Phone) {
			dropped++
			continue
		}
		ok = append(ok, cust)
	}
	if err := s.eng.Import(id, ok, dropped); err != nil {
		return core.TaskError(err)
	}
	return core.Reply{Code: core.CodeOK, Msg: "修改成功", TaskID: id}
}

// update sets a task's robot count (its concurrency), running or not.
func (s *Server) update(p *core.Params) core.Reply {
	id := p.Int("robotCallJobId")
	n := p.Int("robotCount")
	if p.Err() == nil && n < 1 {
		p.Fail("robotCount", "must be at least 1")
	}
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	err := s.eng.Update(id, func(t *core.Task) error {
		m := *t.Meta.(*TaskMeta)
		m.RobotCount = n
		t.Meta, t.Concurrency = &m, int(n)
		return nil
	})
	if err != nil {
		return core.TaskError(err)
	}
	return core.Reply{Code: core.CodeOK, Msg: "修改成功", TaskID: id}
}

// liveTask returns task id unless it is unknown or deleted.
func (s *Server) liveTask(id int64) (core.Task, bool) {
	t, ok := s.eng.Task(id)
	return t, ok && t.State != core.StateDeleted
}

type page struct {
	Number        int `json:"number"`
	PageSize      int `json:"pageSize"`
	TotalElements int `json:"totalElements"`
	Pages         int `json:"pages"`
	Content       any `json:"content"`
}

func newPage[T any](items []T, pageNum, pageSize int) page {
	content, pages := core.Page(items, pageNum, pageSize)
	if content == nil {
		content = []T{}
	}
	return page{Number: pageNum, PageSize: pageSize, TotalElements: len(items), Pages: pages, Content: content}
}

func (s *Server) getTasks(p *core.Params) core.Reply {
	name := p.OptStr("name", "")
	status := p.OptStr("status", "")
	if n, err := strconv.Atoi(status); err == nil && n >= 0 && n < len(taskStatusCodes) {
		status = taskStatusCodes[n]
	}
	pageNum, pageSize := int(p.OptInt("pageNum", 1)), int(p.OptInt("pageSize", 20))
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	var items []taskItem
	for _, t := range s.eng.Tasks() {
		// Like the vendor's search, a name matches when it contains the query.
		if name != "" && !strings.Contains(t.Name, name) || status != "" && taskStatus(t.State) != status {
			continue
		}
		items = append(items, s.taskItem(t))
	}
	return core.OK("获取成功", newPage(items, pageNum, pageSize))
}

func (s *Server) getTaskDetail(p *core.Params) core.Reply {
	id := p.Int("robotCallJobId")
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	t, ok := s.liveTask(id)
	if !ok {
		return core.Fail(core.CodeNotFound)
	}
	return core.Reply{Code: core.CodeOK, Msg: "获取成功", Data: s.taskDetail(t), TaskID: id}
}

func (s *Server) getCallRecords(p *core.Params) core.Reply {
	id := p.Int("robotCallJobId")
	statuses, levels := p.Strs("resultStatuses"), p.Strs("intentLevels")
	pageNum, pageSize := int(p.OptInt("pageNum", 1)), int(p.OptInt("pageSize", 20))
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	t, ok := s.liveTask(id)
	if !ok {
		return core.Fail(core.CodeNotFound)
	}
	var items []recordItem
	for _, c := range s.eng.Calls(t.ID) {
		r := s.record(c)
		if len(statuses) > 0 && !slices.Contains(statuses, r.ResultStatus) || len(levels) > 0 && !slices.Contains(levels, r.IntentLevel) {
			continue
		}
		items = append(items, s.recordItem(c, r))
	}
	return core.Reply{Code: core.CodeOK, Msg: "获取成功", Data: newPage(items, pageNum, pageSize), TaskID: id}
}

func (s *Server) phoneLogInfo(p *core.Params) core.Reply {
	id := p.Int("callRecordId")
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	c, ok := s.eng.Call(id)
	if !ok {
		return core.Fail(core.CodeNotFound)
	}
	return core.Reply{Code: core.CodeOK, Msg: "执行成功", Data: s.callDetail(c), CallID: id}
}

// taskStatus is Yiwise's task status for a state.
func taskStatus(s core.State) string {
	switch s {
	case core.StateRunning:
		return StatusInProcess
	case core.StateCompleted:
		return StatusCompleted
	case core.StatePaused:
		return StatusUserPause
	case core.StateStopped:
		return StatusTerminate
	}
	return StatusNotStarted
}
