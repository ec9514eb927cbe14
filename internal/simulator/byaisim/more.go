package byaisim

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/callbridge/callbridge/internal/simulator/core"
)

// robotDefID reads the robot id, as the request example (robotDefId) or the callback
// table (robotDef) spells it.
func robotDefID(p *core.Params) int64 {
	if n := p.OptInt("robotDef", 0); n != 0 {
		return n
	}
	return p.Int("robotDefId")
}

// fillScene gives a task or call without scene ids its robot's own.
func fillScene(m *TaskMeta) {
	for _, r := range robots {
		if r.RobotDefID != m.RobotDefID {
			continue
		}
		if m.SceneDefID == 0 {
			m.SceneDefID = r.SceneDefID
		}
		if m.SceneRecordID == 0 && len(r.SceneRecords) > 0 {
			m.SceneRecordID = r.SceneRecords[0].SceneRecordID
		}
	}
}

// checkLines fails a task whose callType is not its lines' phoneType, as the vendor's
// calls would (company.md: callType must follow the caller line's phoneType).
func checkLines(p *core.Params, ids []int64, callType int64) {
	for _, id := range ids {
		found := false
		for _, ph := range phones {
			if ph.UserPhoneID == id {
				found = true
				if int64(ph.PhoneType) != callType && (ph.PhoneType == 6 || callType == 6) {
					p.Fail("callType", "does not match the caller line's phoneType")
				}
			}
		}
		if !found {
			p.Fail("userPhoneIds", "names a line the company does not have")
		}
	}
}

// blacklist is the company's default blacklist group.
type blacklist struct {
	mu      sync.Mutex
	next    int64
	entries map[string]int64 // phone → entry id
}

// Blacklisted reports whether phone is on the blacklist, and its entry id.
func (s *Server) Blacklisted(phone string) (int64, bool) {
	s.black.mu.Lock()
	defer s.black.mu.Unlock()
	id, ok := s.black.entries[phone]
	return id, ok
}

// addBlackList adds one number to the default group; each request makes a new entry,
// as the vendor's does (the entry id is new each time).
func (s *Server) addBlackList(p *core.Params) core.Reply {
	if rep, ok := s.company(p); !ok {
		return rep
	}
	mobile := p.Str("mobile")
	p.OptStr("name", "")
	p.OptStr("remark", "")
	if p.Err() == nil && !core.ValidMobile(mobile) {
		p.Fail("mobile", "is not a mobile number")
	}
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	s.black.mu.Lock()
	defer s.black.mu.Unlock()
	if s.black.entries == nil {
		s.black.entries, s.black.next = map[string]int64{}, 3220
	}
	s.black.next++
	s.black.entries[mobile] = s.black.next
	return core.OK("获取成功", s.black.next)
}

// seatStatistics answers the company's AI seats: all, and in use by running tasks.
func (s *Server) seatStatistics(p *core.Params) core.Reply {
	if rep, ok := s.company(p); !ok {
		return rep
	}
	using := 0
	for _, t := range s.eng.Tasks() {
		if t.State == core.StateRunning {
			using += t.Concurrency
		}
	}
	all := s.cfg.Seats
	if all == 0 {
		all = 50
	}
	return core.OK("查询成功", map[string]int{"companyAllCallSeat": all, "companyUsingCallSeat": min(using, all)})
}

// taskCall calls a customer of a task now (task/call). Its answer carries no data.
func (s *Server) taskCall(p *core.Params) core.Reply {
	if rep, ok := s.company(p); !ok {
		return rep
	}
	custID := p.Int("customerId")
	mobile, hasMobile := "", false
	if p.Has("mobile") {
		mobile, hasMobile = strconv.FormatInt(p.IntOrStr("mobile"), 10), true
	}
	robot := robotDefID(p)
	scene, record := p.OptInt("sceneDefId", 0), p.OptInt("sceneRecordId", 0)
	vars := p.StrMap("variables")
	if vars == nil {
		vars = p.StrMap("variable")
	}
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	taskID, cust, ok := s.eng.Customer(custID)
	if !ok {
		return core.Fail(core.CodeNotFound)
	}
	if hasMobile && mobile != cust.Phone {
		p.Fail("mobile", "is not the customer's number")
		return core.Fail(core.CodeBadParam)
	}
	t, _ := s.eng.Task(taskID)
	m := *t.Meta.(*TaskMeta)
	m.RobotDefID, m.SceneDefID, m.SceneRecordID = robot, scene, record
	fillScene(&m)
	if len(vars) > 0 {
		props := map[string]string{}
		for k, v := range cust.Properties {
			props[k] = v
		}
		for k, v := range vars {
			props[k] = v
		}
		cust.Properties = props
	}
	id, err := s.eng.CallCustomer(taskID, cust, &m)
	if err != nil {
		return core.TaskError(err)
	}
	return core.Reply{Code: core.CodeOK, Msg: "外呼成功", TaskID: taskID, CallID: id}
}

// doneCall is one row of queryDoneTaskPhones.
type doneCall struct {
	CallInstanceID     int64        `json:"callInstanceId"`
	SceneDefID         int64        `json:"sceneDefId"`
	CallJobID          int64        `json:"callJobId"`
	CustomerTelephone  string       `json:"customerTelephone"`
	CustomerName       string       `json:"customerName"`
	Status             int          `json:"status"`
	FinishStatus       int          `json:"finishStatus"`
	Duration           string       `json:"duration"`
	ChatRound          int          `json:"chatRound"`
	StartTime          string       `json:"startTime"`
	EndTime            string       `json:"endTime"`
	CallerPhone        string       `json:"callerPhone"`
	CallIndex          int          `json:"callIndex"`
	LuyinOssURL        *string      `json:"luyinOssUrl"`
	SecondaryCallTime  string       `json:"secondaryCallTime"`
	SecondaryCallTimes int          `json:"secondaryCallTimes"`
	GmtCreate          string       `json:"gmtCreate"`
	GmtModified        string       `json:"gmtModified"`
	JobName            string       `json:"jobName"`
	ResultList         []nameResult `json:"resultList"`
}

type nameResult struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// pageSizeLimit is the vendor's page-size cap on its call lists (index.md, 2018-07).
const pageSizeLimit = 50

// queryDoneTaskPhones lists a task's finished calls in the order they ended. callIndex
// is that order (from 0), and index the largest one the caller already has (-1: none).
func (s *Server) queryDoneTaskPhones(p *core.Params) core.Reply {
	taskID := p.Int("callJobId")
	durL, durR := p.OptInt("durationLeft", -1), p.OptInt("durationRight", -1)
	roundL, roundR := p.OptInt("chatRoundLeft", -1), p.OptInt("chatRoundRight", -1)
	finish := p.OptInt("finishStatus", -1)
	index := p.OptInt("index", -1)
	pageNum, pageSize := pageParams(p)
	p.OptList("resultQueryList")
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	t, ok := s.liveTask(taskID)
	if !ok {
		return core.Fail(core.CodeNotFound)
	}
	var all []doneCall
	for i, c := range s.eng.Calls(taskID) {
		o := c.Outcome
		if int64(i) <= index ||
			durL >= 0 && int64(o.Duration) < durL || durR >= 0 && int64(o.Duration) > durR ||
			roundL >= 0 && int64(o.Rounds) < roundL || roundR >= 0 && int64(o.Rounds) > roundR ||
			finish >= 0 && int64(o.Status) != finish {
			continue
		}
		rec := s.callRecord(c)
		si := rec.SceneInstance.(sceneInstance)
		row := doneCall{
			CallInstanceID: c.ID, SceneDefID: si.SceneDefID, CallJobID: t.ID,
			CustomerTelephone: si.CustomerTelephone, CustomerName: si.CustomerName, Status: 2,
			FinishStatus: o.Status, Duration: fmt.Sprintf("%d秒", o.Duration), ChatRound: o.Rounds,
			StartTime: si.StartTime, EndTime: si.EndTime, CallerPhone: si.CallerPhone, CallIndex: i,
			LuyinOssURL: si.LuyinOssURL, SecondaryCallTime: si.SecondaryCallTime, GmtCreate: si.GmtCreate,
			GmtModified: si.GmtModified, JobName: si.JobName, ResultList: []nameResult{},
		}
		for _, r := range rec.TaskResult {
			row.ResultList = append(row.ResultList, nameResult{r.ResultName, r.ResultValue})
		}
		all = append(all, row)
	}
	return core.OK("操作成功", pageData(all, pageNum, pageSize))
}

// pageParams reads a paged list's pageNum and pageSize (1 to pageSizeLimit).
func pageParams(p *core.Params) (pageNum, pageSize int) {
	pageNum, pageSize = int(p.OptInt("pageNum", 1)), int(p.OptInt("pageSize", 10))
	if p.Err() == nil && (pageSize > pageSizeLimit || pageSize < 1 || pageNum < 1) {
		p.Fail("pageSize", "must be 1 to 50")
	}
	return pageNum, pageSize
}

// pageData is the vendor's page object around one page of items.
func pageData[T any](all []T, pageNum, pageSize int) map[string]any {
	page, pages := core.Page(all, pageNum, pageSize)
	if page == nil {
		page = []T{}
	}
	startRow, endRow := 0, 0
	if len(page) > 0 {
		startRow = (pageNum - 1) * pageSize
		endRow = startRow + len(page) - 1
	}
	return map[string]any{
		"pageNum": pageNum, "pageSize": pageSize, "size": len(page), "orderBy": nil,
		"startRow": startRow, "endRow": endRow, "total": len(all), "pages": pages, "list": page,
	}
}

// notDialed is one row of notDialedCustomerList. The simulator numbers a customer's
// instance with the customer's id, which task/call takes as customerId.
type notDialed struct {
	CallInstanceID    int64   `json:"callInstanceId"`
	CustomerName      string  `json:"customerName"`
	CustomerTelephone string  `json:"customerTelephone"`
	Status            int     `json:"status"`
	StartTime         *string `json:"startTime"`
	CallerPhone       string  `json:"callerPhone"`
	CorpName          string  `json:"corpName"`
	CalledTimes       int     `json:"calledTimes"`
}

// notDialedCustomerList lists a task's customers not dialled yet, at most 50 a page.
func (s *Server) notDialedCustomerList(p *core.Params) core.Reply {
	taskID := p.Int("taskId")
	pageNum, pageSize := pageParams(p)
	if p.Err() != nil {
		return core.Fail(core.CodeBadParam)
	}
	t, ok := s.liveTask(taskID)
	if !ok {
		return core.Fail(core.CodeNotFound)
	}
	m := t.Meta.(*TaskMeta)
	caller := phones[0].Phone
	for _, ph := range phones {
		if len(m.UserPhoneIDs) > 0 && ph.UserPhoneID == m.UserPhoneIDs[0] {
			caller = ph.Phone
		}
	}
	all := []notDialed{}
	for _, c := range t.Customers[t.Dialed:] {
		all = append(all, notDialed{
			CallInstanceID: c.ID, CustomerName: c.Name, CustomerTelephone: c.Phone,
			CallerPhone: caller, CorpName: strings.TrimSpace(s.companies()[m.CompanyID]),
		})
	}
	d := pageData(all, pageNum, pageSize)
	return core.OK("操作成功", d)
}
