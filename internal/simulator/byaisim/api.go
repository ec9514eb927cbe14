package byaisim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callbridge/callbridge/internal/simulator/core"
)

// TaskMeta is what a BYAI task was created (or last updated) with. Snapshots carry
// it in Task.Meta; it is replaced on update, never changed in place.
type TaskMeta struct {
	CompanyID        int64
	TaskName         string
	TaskType         int64 // 1 scheduled, 2 manual
	StartDate        string
	WorkingStartTime string
	WorkingEndTime   string
	BreakStartTime   string
	BreakEndTime     string
	UserPhoneIDs     []int64
	CallType         int64
	ConcurrencyQuota int64
	ConcurrencyPhone int64
	RobotDefID       int64
	SceneDefID       int64
	SceneRecordID    int64
	SmsType          int64
	Remark           string
	RepeatCall       bool
	// CallKind is the call record's callType: 1 task, 2 single call, 101 inbound.
	CallKind int
	// Variables are a single call's script variables.
	Variables map[string]string
}

// phone is one of the company's caller lines (getPhones).
type phone struct {
	UserPhoneID           int64   `json:"userPhoneId"`
	CallerAccountID       *int64  `json:"callerAccountId"`
	Phone                 string  `json:"phone"`
	Account               *string `json:"account"`
	PhoneName             string  `json:"phoneName"`
	PhoneType             int     `json:"phoneType"`
	Available             bool    `json:"available"`
	UseAvailable          bool    `json:"useAvailable"`
	TotalConcurrencyQuota int     `json:"totalConcurrencyQuota"`
	UsedConcurrencyQuota  int     `json:"usedConcurrencyQuota"`
	BillPeriod            int     `json:"billPeriod"`
	ValidityBegin         string  `json:"validityBegin"`
	ValidityEnd           string  `json:"validityEnd"`
	SceneType             *int    `json:"sceneType"`
	LineAmount            float64 `json:"lineAmount"`
}

var phones = []phone{
	{UserPhoneID: 1, Phone: "13800000001", PhoneName: "sim1", PhoneType: 0, Available: true, UseAvailable: true, TotalConcurrencyQuota: 5, BillPeriod: 60, ValidityBegin: "2024-01-01 00:00:00", ValidityEnd: "2030-12-31 00:00:00", LineAmount: 1.04},
	{UserPhoneID: 2, Phone: "057126881788", PhoneName: "杭州固话", PhoneType: 1, Available: true, UseAvailable: true, TotalConcurrencyQuota: 10, BillPeriod: 60, ValidityBegin: "2024-01-01 00:00:00", ValidityEnd: "2030-12-31 00:00:00", LineAmount: 1.03},
	{UserPhoneID: 3, Phone: "14000000003", PhoneName: "无主叫线路", PhoneType: 2, Available: true, UseAvailable: true, TotalConcurrencyQuota: 20, BillPeriod: 60, ValidityBegin: "2024-01-01 00:00:00", ValidityEnd: "2030-12-31 00:00:00", LineAmount: 1.00},
	{UserPhoneID: 6, Phone: "02160000006", PhoneName: "SIP线路", PhoneType: 6, Available: true, UseAvailable: true, TotalConcurrencyQuota: 30, BillPeriod: 60, ValidityBegin: "2024-01-01 00:00:00", ValidityEnd: "2030-12-31 00:00:00", LineAmount: 2.50},
}

type sceneRecord struct {
	SceneRecordID   int64  `json:"sceneRecordId"`
	SceneRecordName string `json:"sceneRecordName"`
}

type robot struct {
	RobotDefID      int64         `json:"robotDefId"`
	RobotName       string        `json:"robotName"`
	SceneDefID      int64         `json:"sceneDefId"`
	SceneRecords    []sceneRecord `json:"sceneRecords"`
	IndustryOneName string        `json:"industryOneName"`
	IndustryTwoName string        `json:"industryTwoName"`
	GmtModify       string        `json:"gmtModify"`
	published       bool
}

var robots = []robot{
	{RobotDefID: 14, RobotName: "房产电销", SceneDefID: 34, SceneRecords: []sceneRecord{{34, "标准录音"}}, IndustryOneName: "房产类", IndustryTwoName: "高端住宅", GmtModify: "2024-11-09 10:09:32", published: true},
	{RobotDefID: 38375, RobotName: "理财回访", SceneDefID: 38387, SceneRecords: []sceneRecord{{38383, "女声录音"}}, IndustryOneName: "金融类", IndustryTwoName: "理财", GmtModify: "2024-11-29 09:06:43", published: true},
	{RobotDefID: 40001, RobotName: "草稿话术", SceneDefID: 40002, SceneRecords: []sceneRecord{{40003, "测试录音"}}, IndustryOneName: "其他", IndustryTwoName: "其他", GmtModify: "2025-01-02 11:00:00"},
}

func (s *Server) endpoints() []core.Endpoint {
	get, post := http.MethodGet, http.MethodPost
	return []core.Endpoint{
		{Name: "company/getCompanys", Method: get, Handle: s.getCompanys},
		{Name: "company/getPhones", Method: get, Handle: s.getPhones},
		{Name: "company/getRobots", Method: get, Handle: s.getRobots},
		{Name: "task/createTask", Method: post, Handle: s.createTask},
		{Name: "task/start", Method: post, Handle: s.control("启动成功", (*core.Engine).Start)},
		{Name: "task/pause", Method: post, Handle: s.control("执行成功", (*core.Engine).Pause)},
		{Name: "task/stop", Method: post, Handle: s.control("执行成功", (*core.Engine).Stop)},
		{Name: "task/delete", Method: post, Handle: s.deleteTask},
		{Name: "task/importTaskCustomer", Method: post, Handle: s.importCustomers},
		{Name: "task/update", Method: post, Handle: s.update},
		{Name: "task/getTaskDetail", Method: get, Handle: s.getTaskDetail},
		{Name: "task/getTasks", Method: get, Handle: s.getTasks},
		{Name: "task/singleCallByMobile", Method: post, Handle: s.singleCall},
		{Name: "task/phoneLogInfo", Method: get, Handle: s.phoneLogInfo},
		{Name: "company/addBlackList", Method: post, Handle: s.addBlackList},
		{Name: "company/seat/statistics", Method: get, Handle: s.seatStatistics},
		{Name: "task/call", Method: post, Handle: s.taskCall},
		{Name: "task/queryDoneTaskPhones", Method: post, Handle: s.queryDoneTaskPhones},
		{Name: "task/notDialedCustomerList", Method: post, Handle: s.notDialedCustomerList},
	}
}

// company reads the required companyId; only the bound company may be used.
func (s *Server) company(p *core.Params) (core.Reply, bool) {
	id := p.Int("companyId")
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam), false
	}
	if _, bound := s.companies()[id]; !bound {
		return core.Fail(core.CodeForbidden), false
	}
	return core.Reply{}, true
}

// companies are the companies bound to the app key, by id.
func (s *Server) companies() map[int64]string {
	all := map[int64]string{s.cfg.CompanyID: s.cfg.CompanyName}
	for id, name := range s.cfg.Companies {
		all[id] = name
	}
	return all
}

func (s *Server) getCompanys(*core.Params) core.Reply {
	type company struct {
		CompanyName string `json:"companyName"`
		CompanyID   int64  `json:"companyId"`
	}
	out := []company{}
	for id, name := range s.companies() {
		out = append(out, company{name, id})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CompanyID < out[j].CompanyID })
	return core.OK("获取成功", out)
}

func (s *Server) getPhones(p *core.Params) core.Reply {
	if rep, ok := s.company(p); !ok {
		return rep
	}
	return core.OK("获取成功", phones)
}

func (s *Server) getRobots(p *core.Params) core.Reply {
	if rep, ok := s.company(p); !ok {
		return rep
	}
	onlyPublished := p.OptInt("robotStatus", 0) == 1
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	out := []robot{}
	for _, r := range robots {
		if r.published || !onlyPublished {
			out = append(out, r)
		}
	}
	return core.OK("获取成功", out)
}

func (s *Server) createTask(p *core.Params) core.Reply {
	if rep, ok := s.company(p); !ok {
		return rep
	}
	m := &TaskMeta{
		CompanyID:        p.Int("companyId"),
		TaskName:         p.Str("taskName"),
		TaskType:         p.Int("taskType"),
		StartDate:        p.Str("startDate"),
		WorkingStartTime: p.OptStr("workingStartTime", "09:00"),
		WorkingEndTime:   p.OptStr("workingEndTime", "20:00"),
		BreakStartTime:   p.OptStr("breakStartTime", ""),
		BreakEndTime:     p.OptStr("breakEndTime", ""),
		UserPhoneIDs:     p.Ints("userPhoneIds"),
		// The vendor's own demo stopped sending the scene ids; the robot decides them.
		SceneDefID:       p.OptInt("sceneDefId", 0),
		RobotDefID:       robotDefID(p),
		SceneRecordID:    p.OptInt("sceneRecordId", 0),
		CallType:         p.Int("callType"),
		ConcurrencyQuota: p.OptInt("concurrencyQuota", 1),
		Remark:           p.OptStr("remark", ""),
		SmsType:          p.OptInt("smsType", 0),
		RepeatCall:       p.Bool("repeatCall", true),
		CallKind:         1,
	}
	p.OptList("repeatCallRule")
	fillScene(m)
	checkSchedule(p, m)
	checkLines(p, m.UserPhoneIDs, m.CallType)
	if len(m.UserPhoneIDs) == 0 {
		p.Fail("userPhoneIds", "is empty")
	}
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	t := s.eng.CreateTask(m.TaskName, int(m.ConcurrencyQuota), m)
	return core.Reply{Code: core.CodeOK, Msg: "操作成功", Data: t.ID, TaskID: t.ID}
}

// checkSchedule validates the enumerations, date and times shared by create and update.
func checkSchedule(p *core.Params, m *TaskMeta) {
	if m.TaskType != 1 && m.TaskType != 2 {
		p.Fail("taskType", "must be 1 or 2")
	}
	switch m.CallType {
	case 0, 1, 2, 6:
	default:
		p.Fail("callType", "is not a known call type")
	}
	if m.ConcurrencyQuota < 1 {
		p.Fail("concurrencyQuota", "must be at least 1")
	}
	if _, err := time.Parse(core.Date, m.StartDate); err != nil {
		p.Fail("startDate", "is not yyyy-MM-dd")
	}
	for name, v := range map[string]string{
		"workingStartTime": m.WorkingStartTime, "workingEndTime": m.WorkingEndTime,
		"breakStartTime": m.BreakStartTime, "breakEndTime": m.BreakEndTime,
	} {
		if v != "" && !core.ValidClock(v) {
			p.Fail(name, "is not HH:mm")
		}
	}
}

// control answers start, pause and stop, which take the task id as a number.
func (s *Server) control(msg string, op func(*core.Engine, int64) error) func(*core.Params) core.Reply {
	return func(p *core.Params) core.Reply {
		id := p.Int("taskId")
		if p.Err() != nil {
			return core.Fail(core.CodeBadParam)
		}
		if err := op(s.eng, id); err != nil {
			return core.TaskError(err)
		}
		return core.Reply{Code: core.CodeOK, Msg: msg, TaskID: id}
	}
}

// deleteTask takes the task id as a string, as the document shows.
func (s *Server) deleteTask(p *core.Params) core.Reply {
	raw := p.Str("taskId")
	id, err := strconv.ParseInt(raw, 10, 64)
	if p.Err() != nil || err != nil {
		return core.Fail(core.CodeBadParam)
	}
	if err := s.eng.Delete(id); err != nil {
		return core.TaskError(err)
	}
	return core.Reply{Code: core.CodeOK, Msg: "删除成功", TaskID: id}
}

func (s *Server) importCustomers(p *core.Params) core.Reply {
	if rep, ok := s.company(p); !ok {
		return rep
	}
	id := p.Int("taskId")
	list := p.List("customerInfoList")
	p.OptInt("forceTransferCustomer", 1)
	if s.cfg.MaxImportBatch > 0 && len(list) > s.cfg.MaxImportBatch {
		p.Fail("customerInfoList", "is too long")
	}
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	var ok []core.Customer
	failed := 0
	for _, raw := range list {
		c, err := core.ParseObject(raw)
		if err != nil {
			return core.Fail(core.CodeBadParam)
		}
		cust := core.Customer{Name: c.OptStr("name", ""), Phone: c.OptStr("phone", ""), Properties: c.StrMap("properties")}
		if c.Err() != nil {
			return core.Fail(core.CodeBadParam)
		}
		// BYAI counts a customer whose number it cannot dial as failed, not the request.
		if !core.ValidMobile(cust.Phone) {
			failed++
			continue
		}
		ok = append(ok, cust)
	}
	if err := s.eng.Import(id, ok, failed); err != nil {
		return core.TaskError(err)
	}
	type counts struct {
		SuccessNum int `json:"successNum"`
		FailNum    int `json:"failNum"`
	}
	return core.Reply{Code: core.CodeOK, Msg: "操作成功", Data: counts{len(ok), failed}, TaskID: id}
}

// update changes a task that is not running, all its required fields at once.
func (s *Server) update(p *core.Params) core.Reply {
	if rep, ok := s.company(p); !ok {
		return rep
	}
	id := p.Int("taskId")
	m := TaskMeta{
		CompanyID:        p.Int("companyId"),
		TaskName:         p.Str("taskName"),
		TaskType:         p.Int("taskType"),
		CallType:         p.Int("callType"),
		ConcurrencyQuota: p.Int("concurrencyQuota"),
		ConcurrencyPhone: p.OptInt("concurrencyPhone", 0),
		StartDate:        p.OptStr("startDate", ""),
		WorkingStartTime: p.OptStr("workingStartTime", ""),
		WorkingEndTime:   p.OptStr("workingEndTime", ""),
		BreakStartTime:   p.OptStr("breakStartTime", ""),
		BreakEndTime:     p.OptStr("breakEndTime", ""),
	}
	for _, f := range strings.Split(p.Str("userPhoneIds"), ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			p.Fail("userPhoneIds", "is not a comma-separated list of ids")
			break
		}
		m.UserPhoneIDs = append(m.UserPhoneIDs, n)
	}
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	err := s.eng.Update(id, func(t *core.Task) error {
		if t.State == core.StateRunning {
			// The document: only tasks that are not running can be updated.
			return &core.StateError{Op: "update", State: t.State}
		}
		old := t.Meta.(*TaskMeta)
		nm := *old
		nm.TaskName, nm.TaskType, nm.CallType = m.TaskName, m.TaskType, m.CallType
		nm.UserPhoneIDs, nm.ConcurrencyQuota, nm.ConcurrencyPhone = m.UserPhoneIDs, m.ConcurrencyQuota, m.ConcurrencyPhone
		// Optional fields left out keep their values.
		keep := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		keep(&nm.StartDate, m.StartDate)
		keep(&nm.WorkingStartTime, m.WorkingStartTime)
		keep(&nm.WorkingEndTime, m.WorkingEndTime)
		keep(&nm.BreakStartTime, m.BreakStartTime)
		keep(&nm.BreakEndTime, m.BreakEndTime)
		checkSchedule(p, &nm)
		checkLines(p, nm.UserPhoneIDs, nm.CallType)
		if p.Err() != nil {
			return p.Err()
		}
		t.Meta, t.Name, t.Concurrency = &nm, nm.TaskName, int(nm.ConcurrencyQuota)
		return nil
	})
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	if err != nil {
		return core.TaskError(err)
	}
	return core.Reply{Code: core.CodeOK, Msg: "修改成功", TaskID: id}
}

func (s *Server) singleCall(p *core.Params) core.Reply {
	if rep, ok := s.company(p); !ok {
		return rep
	}
	mobile := p.Str("mobile")
	m := s.defaultMeta()
	m.CompanyID = p.Int("companyId")
	m.SceneDefID, m.SceneRecordID, m.RobotDefID = p.OptInt("sceneDefId", 0), p.OptInt("sceneRecordId", 0), robotDefID(p)
	fillScene(m)
	m.CallKind = 2
	// The document's example spells it "variable", its table "variables".
	m.Variables = p.StrMap("variables")
	if m.Variables == nil {
		m.Variables = p.StrMap("variable")
	}
	name := p.OptStr("userName", "")
	if p.Err() == nil && !core.ValidMobile(mobile) {
		p.Fail("mobile", "is not a mobile number")
	}
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	id := s.eng.SingleCall(core.Customer{Name: name, Phone: mobile, Properties: m.Variables}, m)
	return core.Reply{Code: core.CodeOK, Msg: "外呼成功", Data: id, CallID: id}
}

// defaultMeta describes calls made outside a task.
func (s *Server) defaultMeta() *TaskMeta {
	return &TaskMeta{
		CompanyID: s.cfg.CompanyID, TaskType: 2, StartDate: core.Local(s.sim.Clock.Now())[:10],
		UserPhoneIDs: []int64{phones[0].UserPhoneID}, ConcurrencyQuota: 1,
		RobotDefID: robots[0].RobotDefID, SceneDefID: robots[0].SceneDefID, SceneRecordID: robots[0].SceneRecords[0].SceneRecordID,
		CallKind: 101,
	}
}

// liveTask returns task id unless it is unknown or deleted.
func (s *Server) liveTask(id int64) (core.Task, bool) {
	t, ok := s.eng.Task(id)
	return t, ok && t.State != core.StateDeleted
}

func (s *Server) getTaskDetail(p *core.Params) core.Reply {
	if rep, ok := s.company(p); !ok {
		return rep
	}
	id := p.Int("taskId")
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	t, ok := s.liveTask(id)
	if !ok {
		return core.Fail(core.CodeNotFound)
	}
	return core.Reply{Code: core.CodeOK, Msg: "操作成功", Data: s.taskDetail(t), TaskID: id}
}

func (s *Server) getTasks(p *core.Params) core.Reply {
	if rep, ok := s.company(p); !ok {
		return rep
	}
	name := p.OptStr("taskName", "")
	createDate := p.OptStr("createDate", "")
	status := p.OptInt("status", -1)
	pageNum, pageSize := int(p.OptInt("pageNum", 1)), int(p.OptInt("pageSize", 10))
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	var all []taskItem
	for _, t := range s.eng.Tasks() {
		// Like the vendor's search, a name matches when it contains the query.
		if name != "" && !strings.Contains(t.Name, name) ||
			createDate != "" && core.Local(t.Created)[:10] != createDate ||
			status >= 0 && int64(taskStatus(t.State)) != status {
			continue
		}
		all = append(all, s.taskItem(t))
	}
	page, pages := core.Page(all, pageNum, pageSize)
	if page == nil {
		page = []taskItem{}
	}
	startRow, endRow := 0, 0
	if len(page) > 0 {
		startRow = (max(pageNum, 1)-1)*max(pageSize, 1) + 1
		endRow = startRow + len(page) - 1
	}
	return core.OK("操作成功", map[string]any{
		"pageNum": pageNum, "pageSize": pageSize, "size": len(page), "orderBy": nil,
		"startRow": startRow, "endRow": endRow, "total": len(all), "pages": pages, "list": page,
	})
}

func (s *Server) phoneLogInfo(p *core.Params) core.Reply {
	id := p.Int("callInstanceId")
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	c, ok := s.eng.Call(id)
	if !ok || c.Inbound {
		return core.Fail(core.CodeNotFound)
	}
	r := s.callRecord(c)
	return core.Reply{Code: core.CodeOK, Msg: "获取成功", Data: legacyData{r.SceneInstance, r.TaskResult, r.PhoneLog}, CallID: id}
}

// taskStatus is BYAI's task status code for a state.
func taskStatus(s core.State) int {
	switch s {
	case core.StateRunning:
		return StatusRunning
	case core.StateCompleted:
		return StatusCompleted
	case core.StatePaused:
		return StatusUserPaused
	case core.StateStopped:
		return StatusTerminated
	}
	return StatusNotStarted
}
