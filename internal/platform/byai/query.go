package byai

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/loose"
	"github.com/callbridge/callbridge/internal/platform"
)

var (
	_ platform.Querier    = (*client)(nil)
	_ platform.CallLister = (*client)(nil)
)

// Queries are what `callbridge vendor ACCOUNT WHAT` can ask a BYAI account; each acts
// for the account's COMPANY_ID (or the companyId in ctx, platform.WithCompanyID).
func (c *client) Queries() []platform.QuerySpec {
	return []platform.QuerySpec{
		{Name: "companies", Doc: "companies the key operates (getCompanys): the companyId of commands"},
		{Name: "phones", Doc: "caller lines (getPhones) with their phoneType: the callerIds and lineType of task.create"},
		{Name: "robots", Doc: "robot scripts (getRobots): the robotDefId, sceneDefId and sceneRecordId of a script"},
		{Name: "seats", Doc: "the company's AI seats, all and in use (seat/statistics)"},
		{Name: "tasks", Doc: "every task (getTasks, all pages)"},
		{Name: "task", Args: []string{"TASK_ID"}, Doc: "one task's detail (getTaskDetail)"},
		{Name: "calls", Args: []string{"TASK_ID"}, Doc: "a task's finished calls (queryDoneTaskPhones, all pages)"},
		{Name: "call", Args: []string{"CALL_ID"}, Doc: "one call's detail and transcript (phoneLogInfo)"},
		{Name: "pending", Args: []string{"TASK_ID"}, Doc: "a task's customers not dialled yet (notDialedCustomerList, all pages)"},
	}
}

// Query asks one of Queries.
func (c *client) Query(ctx context.Context, name string, args []string) (*platform.Table, error) {
	spec, err := platform.FindQuery(c.Queries(), name, args)
	if err != nil {
		return nil, fmt.Errorf("byai: %w", err)
	}
	var arg int64
	if len(args) == 1 {
		n, err := number(spec.Args[0], commandID(args[0]))
		if err != nil {
			return nil, err
		}
		arg = n
	}
	company, err := c.companyID(ctx, "")
	if name != "companies" && name != "call" && name != "calls" && name != "pending" && err != nil {
		return nil, err
	}
	companyQ := url.Values{"companyId": {strconv.FormatInt(company, 10)}}
	argQ := strconv.FormatInt(arg, 10)
	switch name {
	case "companies":
		return c.oneShot(ctx, EndpointCompanies, nil, ParseCompanies)
	case "phones":
		return c.oneShot(ctx, EndpointPhones, companyQ, ParsePhones)
	case "robots":
		return c.oneShot(ctx, EndpointRobots, companyQ, ParseRobots)
	case "seats":
		return c.oneShot(ctx, EndpointSeats, companyQ, ParseSeats)
	case "task":
		companyQ.Set("taskId", argQ)
		return c.oneShot(ctx, EndpointTaskDetail, companyQ, ParseTaskDetail)
	case "call":
		return c.oneShot(ctx, EndpointCallDetail, url.Values{"callInstanceId": {argQ}}, ParseCallDetail)
	case "tasks":
		return c.tasksTable(ctx, company)
	case "calls":
		return c.callsTable(ctx, arg)
	case "pending":
		return c.pendingTable(ctx, arg)
	}
	return nil, fmt.Errorf("byai: %w: unknown query %q", platform.ErrInvalidInput, name)
}

// oneShot is a query of one GET whose data parse makes the rows.
func (c *client) oneShot(ctx context.Context, endpoint string, q url.Values, parse func(json.RawMessage) ([][]string, []string, error)) (*platform.Table, error) {
	env, err := c.get(ctx, endpoint, q)
	if err != nil {
		return nil, err
	}
	rows, cols, err := parse(env.Data)
	if err != nil {
		return nil, env.badData(endpoint, err.Error())
	}
	return &platform.Table{Columns: cols, Rows: rows, JSON: env.Data}, nil
}

// commandID is an argument as an id.
func commandID(s string) command.ID { return command.ID(strings.TrimSpace(s)) }

// pageObject is the vendor's page around a list.
type pageObject struct {
	Pages loose.Scalar      `json:"pages"`
	Total loose.Scalar      `json:"total"`
	List  []json.RawMessage `json:"list"`
}

// ParsePage reads a page answer: its items and how many pages there are (0 when the
// answer does not say).
func ParsePage(data json.RawMessage) (items []json.RawMessage, pages int64, err error) {
	var p pageObject
	if err := loose.Decode(data, &p); err != nil {
		return nil, 0, fmt.Errorf("page: %v", err)
	}
	pages, _ = p.Pages.Int()
	return p.List, pages, nil
}

func (c *client) tasksTable(ctx context.Context, company int64) (*platform.Table, error) {
	all, err := c.allTasks(ctx, company)
	if err != nil {
		return nil, err
	}
	t := &platform.Table{Columns: taskColumns}
	for _, raw := range all {
		t.Rows = append(t.Rows, taskRow(raw))
	}
	t.JSON = jsonArray(all)
	return t, nil
}

// allTasks reads every page of getTasks.
func (c *client) allTasks(ctx context.Context, company int64) ([]json.RawMessage, error) {
	var all []json.RawMessage
	for page := int64(1); ; page++ {
		env, err := c.get(ctx, EndpointTasks, url.Values{
			"companyId": {strconv.FormatInt(company, 10)},
			"pageNum":   {strconv.FormatInt(page, 10)}, "pageSize": {strconv.Itoa(findPageSize)},
		})
		if err != nil {
			return nil, err
		}
		items, pages, err := ParsePage(env.Data)
		if err != nil {
			return nil, env.badData(EndpointTasks, err.Error())
		}
		all = append(all, items...)
		if len(items) < findPageSize || page >= pages || page >= maxPages {
			return all, nil
		}
	}
}

// maxPages bounds a listing, whatever the vendor's page counts say.
const maxPages = 10000

func (c *client) callsTable(ctx context.Context, task int64) (*platform.Table, error) {
	var all []json.RawMessage
	index := int64(-1)
	for range maxPages {
		page, next, err := c.doneCalls(ctx, task, index)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < findPageSize || next <= index {
			break
		}
		index = next
	}
	t := &platform.Table{Columns: doneColumns, JSON: jsonArray(all)}
	for _, raw := range all {
		d := parseDone(raw)
		t.Rows = append(t.Rows, d.row())
	}
	return t, nil
}

// doneCalls reads one page of a task's finished calls after index, and the largest
// callIndex in it (index when none).
func (c *client) doneCalls(ctx context.Context, task, index int64) ([]json.RawMessage, int64, error) {
	env, err := c.post(ctx, EndpointDoneCalls, map[string]int64{
		"callJobId": task, "index": index, "pageNum": 1, "pageSize": findPageSize,
	})
	if err != nil {
		return nil, 0, err
	}
	items, _, err := ParsePage(env.Data)
	if err != nil {
		return nil, 0, env.badData(EndpointDoneCalls, err.Error())
	}
	next := index
	for _, raw := range items {
		if i, ok := parseDone(raw).CallIndex.Int(); ok && i > next {
			next = i
		}
	}
	return items, next, nil
}

func (c *client) pendingTable(ctx context.Context, task int64) (*platform.Table, error) {
	var all []json.RawMessage
	for page := int64(1); page <= maxPages; page++ {
		env, err := c.post(ctx, EndpointNotDialed, map[string]int64{"taskId": task, "pageNum": page, "pageSize": findPageSize})
		if err != nil {
			return nil, err
		}
		items, pages, err := ParsePage(env.Data)
		if err != nil {
			return nil, env.badData(EndpointNotDialed, err.Error())
		}
		all = append(all, items...)
		// This answer's document shows no page count: a short page is the last.
		if len(items) < findPageSize || pages > 0 && page >= pages {
			break
		}
	}
	t := &platform.Table{Columns: pendingColumns, JSON: jsonArray(all)}
	for _, raw := range all {
		t.Rows = append(t.Rows, ParsePending(raw))
	}
	return t, nil
}

func jsonArray(items []json.RawMessage) json.RawMessage {
	if items == nil {
		items = []json.RawMessage{}
	}
	b, _ := json.Marshal(items)
	return b
}

// lineTypeName names a phoneType (callType) as a command's lineType.
func lineTypeName(code loose.Scalar) string {
	n, ok := code.Int()
	if !ok {
		return code.ID()
	}
	for name, v := range lineTypes {
		if int64(v) == n {
			return name + " (" + strconv.FormatInt(n, 10) + ")"
		}
	}
	return "unknown (" + strconv.FormatInt(n, 10) + ")"
}

// ParseCompanies reads getCompanys.
func ParseCompanies(data json.RawMessage) ([][]string, []string, error) {
	var list []struct {
		CompanyID   loose.Scalar `json:"companyId"`
		CompanyName loose.Scalar `json:"companyName"`
	}
	if err := loose.Decode(data, &list); err != nil {
		return nil, nil, err
	}
	rows := [][]string{}
	for _, c := range list {
		rows = append(rows, []string{c.CompanyID.ID(), c.CompanyName.String()})
	}
	return rows, []string{"COMPANY_ID", "NAME"}, nil
}

// ParsePhones reads getPhones.
func ParsePhones(data json.RawMessage) ([][]string, []string, error) {
	var list []struct {
		UserPhoneID loose.Scalar `json:"userPhoneId"`
		Phone       loose.Scalar `json:"phone"`
		PhoneName   loose.Scalar `json:"phoneName"`
		PhoneType   loose.Scalar `json:"phoneType"`
		Available   loose.Scalar `json:"available"`
		Total       loose.Scalar `json:"totalConcurrencyQuota"`
		Used        loose.Scalar `json:"usedConcurrencyQuota"`
		ValidityEnd loose.Scalar `json:"validityEnd"`
	}
	if err := loose.Decode(data, &list); err != nil {
		return nil, nil, err
	}
	rows := [][]string{}
	for _, p := range list {
		rows = append(rows, []string{p.UserPhoneID.ID(), p.Phone.String(), p.PhoneName.String(),
			lineTypeName(p.PhoneType), p.Available.ID(), p.Used.ID() + "/" + p.Total.ID(), p.ValidityEnd.String()})
	}
	return rows, []string{"CALLER_ID", "PHONE", "NAME", "LINE_TYPE (phoneType)", "AVAILABLE", "SEATS_USED", "VALID_UNTIL"}, nil
}

// ParseRobots reads getRobots; robotDef is read where robotDefId is absent.
func ParseRobots(data json.RawMessage) ([][]string, []string, error) {
	var list []struct {
		RobotDefID   loose.Scalar `json:"robotDefId"`
		RobotDef     loose.Scalar `json:"robotDef"`
		RobotName    loose.Scalar `json:"robotName"`
		SceneDefID   loose.Scalar `json:"sceneDefId"`
		SceneRecords []struct {
			SceneRecordID   loose.Scalar `json:"sceneRecordId"`
			SceneRecordName loose.Scalar `json:"sceneRecordName"`
		} `json:"sceneRecords"`
		SceneRecordID loose.Scalar `json:"sceneRecordId"`
		Industry1     loose.Scalar `json:"industryOneName"`
		Industry2     loose.Scalar `json:"industryTwoName"`
		Modified      loose.Scalar `json:"gmtModify"`
	}
	if err := loose.Decode(data, &list); err != nil {
		return nil, nil, err
	}
	rows := [][]string{}
	for _, r := range list {
		robot := r.RobotDefID.ID()
		if robot == "" {
			robot = r.RobotDef.ID()
		}
		var recs []string
		for _, sr := range r.SceneRecords {
			recs = append(recs, sr.SceneRecordID.ID()+" "+sr.SceneRecordName.String())
		}
		if len(recs) == 0 && r.SceneRecordID.ID() != "" {
			recs = append(recs, r.SceneRecordID.ID())
		}
		industry := strings.Trim(r.Industry1.String()+"/"+r.Industry2.String(), "/")
		rows = append(rows, []string{robot, r.RobotName.String(), r.SceneDefID.ID(), strings.Join(recs, ", "), industry, r.Modified.String()})
	}
	return rows, []string{"ROBOT_DEF_ID", "NAME", "SCENE_DEF_ID", "SCENE_RECORD_ID NAME", "INDUSTRY", "MODIFIED"}, nil
}

// ParseSeats reads seat/statistics.
func ParseSeats(data json.RawMessage) ([][]string, []string, error) {
	var s struct {
		All   loose.Scalar `json:"companyAllCallSeat"`
		Using loose.Scalar `json:"companyUsingCallSeat"`
	}
	if err := loose.Decode(data, &s); err != nil {
		return nil, nil, err
	}
	return [][]string{{s.All.ID(), s.Using.ID()}}, []string{"ALL_SEATS", "IN_USE"}, nil
}

var taskColumns = []string{"TASK_ID", "NAME", "MODE", "STATUS", "START_DATE", "DONE/TOTAL"}

type taskItem struct {
	CallJobID  loose.Scalar `json:"callJobId"`
	JobName    loose.Scalar `json:"jobName"`
	JobType    loose.Scalar `json:"jobType"`
	Status     loose.Scalar `json:"status"`
	StartDate  loose.Scalar `json:"startDate"`
	DoneCount  loose.Scalar `json:"doneCount"`
	TotalCount loose.Scalar `json:"totalCount"`
}

func taskRow(raw json.RawMessage) []string {
	var t taskItem
	_ = loose.Decode(raw, &t)
	mode := t.JobType.ID()
	for name, v := range taskTypes {
		if n, ok := t.JobType.Int(); ok && int64(v) == n {
			mode = name
		}
	}
	status, vendor := code(t.Status, taskStatuses, "unknown")
	if vendor != "" {
		status += " (" + vendor + ")"
	}
	return []string{t.CallJobID.ID(), t.JobName.String(), mode, status, t.StartDate.String(), t.DoneCount.ID() + "/" + t.TotalCount.ID()}
}

// ParseTaskDetail reads getTaskDetail.
func ParseTaskDetail(data json.RawMessage) ([][]string, []string, error) {
	var d struct {
		taskItem
		RobotDefName loose.Scalar `json:"robotDefName"`
		SceneDefName loose.Scalar `json:"sceneDefName"`
		Working      loose.Scalar `json:"workingStartTime"`
		WorkingEnd   loose.Scalar `json:"workingEndTime"`
		CallPhones   []struct {
			UserPhoneID loose.Scalar `json:"userPhoneId"`
		} `json:"callPhones"`
	}
	if err := loose.Decode(data, &d); err != nil {
		return nil, nil, err
	}
	row := taskRow(data)
	var lines []string
	for _, p := range d.CallPhones {
		lines = append(lines, p.UserPhoneID.ID())
	}
	row = append(row, d.Working.String()+"-"+d.WorkingEnd.String(), strings.Join(lines, ","), d.RobotDefName.String())
	return [][]string{row}, append(append([]string{}, taskColumns...), "WINDOW", "CALLER_IDS", "ROBOT"), nil
}

var doneColumns = []string{"CALL_ID", "INDEX", "PHONE", "NAME", "STATUS", "DURATION_S", "ENDED"}

type doneItem struct {
	CallInstanceID    loose.Scalar `json:"callInstanceId"`
	CallIndex         loose.Scalar `json:"callIndex"`
	CustomerTelephone loose.Scalar `json:"customerTelephone"`
	CustomerName      loose.Scalar `json:"customerName"`
	FinishStatus      loose.Scalar `json:"finishStatus"`
	Duration          loose.Scalar `json:"duration"`
	EndTime           loose.Scalar `json:"endTime"`
}

func parseDone(raw json.RawMessage) doneItem {
	var d doneItem
	_ = loose.Decode(raw, &d)
	return d
}

func (d doneItem) row() []string {
	status, _ := code(d.FinishStatus, callStatuses, "unknown")
	return []string{d.CallInstanceID.ID(), d.CallIndex.ID(), d.CustomerTelephone.String(), d.CustomerName.String(),
		status, strconv.FormatInt(Seconds(d.Duration.String()), 10), d.EndTime.String()}
}

// ParseDoneCall reads one row of queryDoneTaskPhones.
func ParseDoneCall(raw json.RawMessage) []string { return parseDone(raw).row() }

// Seconds reads a duration as the vendor writes it: 27, "27" or "27秒"; -1 when it
// is none of these.
func Seconds(s string) int64 {
	s = strings.TrimSuffix(strings.TrimSpace(s), "秒")
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

var pendingColumns = []string{"INSTANCE_ID", "NAME", "PHONE", "STATUS", "CALLED_TIMES"}

// ParsePending reads one row of notDialedCustomerList.
func ParsePending(raw json.RawMessage) []string {
	var p struct {
		CallInstanceID    loose.Scalar `json:"callInstanceId"`
		CustomerName      loose.Scalar `json:"customerName"`
		CustomerTelephone loose.Scalar `json:"customerTelephone"`
		Status            loose.Scalar `json:"status"`
		CalledTimes       loose.Scalar `json:"calledTimes"`
	}
	_ = loose.Decode(raw, &p)
	return []string{p.CallInstanceID.ID(), p.CustomerName.String(), p.CustomerTelephone.String(), p.Status.ID(), p.CalledTimes.ID()}
}

// ParseCallDetail reads phoneLogInfo into one row; robotDef and luyunOssUrl are read
// where robotDefId and luyinOssUrl are absent.
func ParseCallDetail(data json.RawMessage) ([][]string, []string, error) {
	var d struct {
		SceneInstance struct {
			CallInstanceID    loose.Scalar `json:"callInstanceId"`
			CallJobID         loose.Scalar `json:"callJobId"`
			CustomerID        loose.Scalar `json:"customerId"`
			CustomerTelephone loose.Scalar `json:"customerTelephone"`
			FinishStatus      loose.Scalar `json:"finishStatus"`
			Duration          loose.Scalar `json:"duration"`
			EndTime           loose.Scalar `json:"endTime"`
			RobotDefID        loose.Scalar `json:"robotDefId"`
			RobotDef          loose.Scalar `json:"robotDef"`
			LuyinOssURL       loose.Scalar `json:"luyinOssUrl"`
			LuyunOssURL       loose.Scalar `json:"luyunOssUrl"`
		} `json:"sceneInstance"`
		PhoneLog struct {
			PhoneLogs []json.RawMessage `json:"phoneLogs"`
		} `json:"phoneLog"`
	}
	if err := loose.Decode(data, &d); err != nil {
		return nil, nil, err
	}
	si := d.SceneInstance
	robot := si.RobotDefID.ID()
	if robot == "" {
		robot = si.RobotDef.ID()
	}
	rec := si.LuyinOssURL.String()
	if rec == "" {
		rec = si.LuyunOssURL.String()
	}
	status, _ := code(si.FinishStatus, callStatuses, "unknown")
	return [][]string{{si.CallInstanceID.ID(), si.CallJobID.ID(), si.CustomerID.ID(), si.CustomerTelephone.String(), status,
			strconv.FormatInt(Seconds(si.Duration.String()), 10), si.EndTime.String(), robot, strconv.Itoa(len(d.PhoneLog.PhoneLogs)), rec}},
		[]string{"CALL_ID", "TASK_ID", "CUSTOMER_ID", "PHONE", "STATUS", "DURATION_S", "ENDED", "ROBOT_DEF_ID", "UTTERANCES", "RECORDING"}, nil
}
