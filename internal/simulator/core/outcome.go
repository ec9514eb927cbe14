package core

import (
	"math/rand/v2"
)

// Outcome is how a simulated call went, in vendor-neutral terms; each vendor renders
// it in its own codes and shapes.
type Outcome struct {
	// Status indexes the vendor's list of call statuses; 0 is answered in both.
	Status int
	// Intent is the intent level A–F of an answered call, "" otherwise.
	Intent string
	// Tags are customer labels given by the analysis (answered calls only).
	Tags []Tag
	// Concerns are the topics the customer asked about (answered calls only).
	Concerns []string
	// Turns is the transcript (answered calls only).
	Turns []Turn
	// Duration is the talk time in seconds, 0 when not answered.
	Duration int
	// Ring is the seconds spent ringing before the answer or the failure.
	Ring int
	// Rounds is the number of customer turns.
	Rounds int
	// CustomerHungUp says who ended an answered call.
	CustomerHungUp bool
	// Basis is the analysis' explanation of the intent level.
	Basis string
}

// Answered reports whether the customer picked up.
func (o Outcome) Answered() bool { return o.Status == 0 }

// Tag is a customer label with its vendor id.
type Tag struct {
	Key   int
	Value string
}

// Turn is one utterance of a transcript.
type Turn struct {
	Robot bool
	Text  string
	// Meaning is the recognised intent of a customer utterance.
	Meaning string
	// StartMs and EndMs are offsets from the start of the call.
	StartMs, EndMs int64
}

// IntentLevels are the vendors' intent levels.
var IntentLevels = []string{"A", "B", "C", "D", "E", "F"}

var (
	intentWeights = []int{10, 20, 25, 20, 15, 10}
	tagPool       = []Tag{{200, "无效用户"}, {201, "有购买意向"}, {202, "价格敏感"}, {203, "需要回访"}, {204, "已有同类产品"}, {205, "决策人"}}
	concernPool   = []string{"价格", "位置", "户型", "交通", "商业配套", "能否贷款", "环境", "售后服务"}
	openers       = []string{
		"喂，您好，这里是城东置业的智能客服，想跟您简单介绍一下我们新开盘的精装公寓，您现在方便吗？",
		"您好，我是平安理财顾问小安，最近我们有一款稳健型理财产品，想占用您一分钟时间介绍一下可以吗？",
		"哎，您好，拱墅区中大银泰城边上有个首付50万左右的精装公寓，您考虑吗？",
	}
	exchanges = []struct{ customer, meaning, robot string }{
		{"喂你好", "~", "您好，打扰您了，我们这边有一个新项目，想跟您介绍一下。"},
		{"价格大概多少？", "询问价格", "目前均价一万七左右，近期还有优惠活动，具体可以到售楼处详细了解。"},
		{"在什么位置？", "询问位置", "就在地铁二号线旁边，步行五分钟，交通非常方便。"},
		{"可以贷款吗？", "能否贷款", "可以的，支持公积金和商业贷款，首付最低三成。"},
		{"我现在没时间", "忙", "好的，那我稍后再联系您，祝您生活愉快。"},
		{"不需要，谢谢", "拒绝", "好的，不打扰您了，如果以后有需要随时联系我们。"},
		{"嗯，你说", "肯定", "我们这个项目周边配套很成熟，有商场、学校和医院。"},
		{"周末可以去看看吗？", "预约", "当然可以，我帮您登记一下，周末会有专人接待您。"},
	}
	bases = []string{
		"命中业务问题 >= 2次 并且 肯定次数 >= 1次",
		"命中业务问题 >= 1次",
		"拒绝次数 <= 1 次 并且 命中业务问题 >= 1",
		"命中业务问题 <= 0次 并且 肯定次数 <= 0次",
		"用户忙或无法判断",
		"明确拒绝",
	}
)

// NewOutcome draws a call outcome: about half the calls are answered; the others
// fail with any of the vendor's statuses 1..statuses-1, so over a task every code
// shows up.
func NewOutcome(r *rand.Rand, statuses int) Outcome {
	var o Outcome
	o.Ring = 5 + r.IntN(25)
	if statuses > 1 && r.IntN(2) == 0 {
		o.Status = 1 + r.IntN(statuses-1)
		return o
	}
	level := pickWeighted(r, intentWeights)
	o.Intent = IntentLevels[level]
	o.Basis = bases[level]
	o.CustomerHungUp = r.IntN(3) > 0
	// Warmer customers talk longer and ask more.
	rounds := 1 + r.IntN(3) + (5-level)/2
	var at int64
	say := func(robot bool, text, meaning string) {
		at += int64(300 + r.IntN(1200))
		d := int64(len([]rune(text)))*180 + int64(r.IntN(400))
		o.Turns = append(o.Turns, Turn{Robot: robot, Text: text, Meaning: meaning, StartMs: at, EndMs: at + d})
		at += d
	}
	say(true, openers[r.IntN(len(openers))], "")
	for range rounds {
		x := exchanges[r.IntN(len(exchanges))]
		say(false, x.customer, x.meaning)
		say(true, x.robot, "")
	}
	o.Rounds = rounds
	o.Duration = int(at/1000) + 1 + r.IntN(3)
	for _, i := range r.Perm(len(tagPool))[:r.IntN(3)] {
		o.Tags = append(o.Tags, tagPool[i])
	}
	if level <= 3 {
		for _, i := range r.Perm(len(concernPool))[:r.IntN(3)] {
			o.Concerns = append(o.Concerns, concernPool[i])
		}
	}
	return o
}

// OtherIntent draws an intent level different from level, as a person correcting the
// analysis in the vendor's CRM would set.
func OtherIntent(r *rand.Rand, level string) string {
	for {
		if l := IntentLevels[r.IntN(len(IntentLevels))]; l != level {
			return l
		}
	}
}

func pickWeighted(r *rand.Rand, w []int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	n := r.IntN(total)
	for i, x := range w {
		if n < x {
			return i
		}
		n -= x
	}
	return len(w) - 1
}

// Letters returns n random upper-case letters (Yiwise request ids, recording names).
func Letters(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('A' + r.IntN(26))
	}
	return string(b)
}
