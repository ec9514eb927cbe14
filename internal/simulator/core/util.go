package core

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"
)

// Shanghai is the vendors' time zone, in which their local times are written.
var Shanghai = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
})

// Vendor local time layouts.
const (
	DateTime = "2006-01-02 15:04:05"
	Date     = "2006-01-02"
)

// Local formats t in the vendors' "yyyy-MM-dd HH:mm:ss" Asia/Shanghai form.
func Local(t time.Time) string { return t.In(Shanghai()).Format(DateTime) }

var clockRE = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$`)

// ValidClock reports whether s is a time of day "HH:mm" or "HH:mm:ss".
func ValidClock(s string) bool { return clockRE.MatchString(s) }

// Seconds writes a time of day as "HH:mm:ss", the form the vendors answer with.
func Seconds(s string) string {
	if len(s) == 5 {
		return s + ":00"
	}
	return s
}

var mobileRE = regexp.MustCompile(`^1\d{10}$`)

// ValidMobile reports whether s is an 11-digit mainland mobile number.
func ValidMobile(s string) bool { return mobileRE.MatchString(s) }

var stateNames = map[State]string{
	StateCreated:   "未开始",
	StateRunning:   "进行中",
	StatePaused:    "已暂停",
	StateStopped:   "已终止",
	StateCompleted: "已完成",
	StateDeleted:   "已删除",
}

var opNames = map[string]string{"start": "启动", "pause": "暂停", "stop": "停止", "update": "修改"}

// TaskError turns an engine error into the vendor reply: 404 for an unknown task,
// 412 for an operation the task's state forbids, 500 otherwise.
func TaskError(err error) Reply {
	var se *StateError
	switch {
	case errors.Is(err, ErrNotFound):
		return Fail(CodeNotFound)
	case errors.As(err, &se):
		return Reply{Code: CodeBadParam, Msg: fmt.Sprintf("任务当前状态为%s，不能%s", stateNames[se.State], opNames[se.Op])}
	}
	return Fail(CodeUnknown)
}

// NewRand returns the random source for seed; 0 picks a random seed.
func NewRand(seed uint64) *rand.Rand {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Page cuts items to page pageNum (from 1) of size pageSize and returns it with the
// number of pages.
func Page[T any](items []T, pageNum, pageSize int) ([]T, int) {
	pageNum, pageSize = max(pageNum, 1), max(pageSize, 1)
	pages := (len(items) + pageSize - 1) / pageSize
	from := min((pageNum-1)*pageSize, len(items))
	to := min(from+pageSize, len(items))
	return items[from:to], pages
}

// Ptr returns a pointer to v, for the nullable fields of vendor bodies.
func Ptr[T any](v T) *T { return &v }
