package event

import "testing"

func TestIDFollowsTheRecordsIdentity(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"the same call gives one id", CallFinishedID("v", "acct", "1"), CallFinishedID("v", "acct", "1"), true},
		{"another call gives another id", CallFinishedID("v", "acct", "1"), CallFinishedID("v", "acct", "2"), false},
		{"another account gives another id", CallFinishedID("v", "acct", "1"), CallFinishedID("v", "other", "1"), false},
		{"another vendor gives another id", CallFinishedID("v", "acct", "1"), CallFinishedID("w", "acct", "1"), false},
		{"an intent change is not the call", CallFinishedID("v", "acct", "1"), IntentChangedID("v", "acct", "1", ""), false},
		{"two levels of one call give two ids", IntentChangedID("v", "acct", "1", "A"), IntentChangedID("v", "acct", "1", "B"), false},
		{"the same status change gives one id", TaskStatusID("v", "acct", "7", "2", ""), TaskStatusID("v", "acct", "7", "2", ""), true},
		{"two statuses of one task give two ids", TaskStatusID("v", "acct", "7", "1", ""), TaskStatusID("v", "acct", "7", "2", ""), false},
		{"two changes to one status give two ids", TaskStatusID("v", "acct", "7", "1", "10:00"), TaskStatusID("v", "acct", "7", "1", "11:00"), false},
		// Parts are delimited: moving text from one part to the next is another identity.
		{"parts do not run together", ID("v", "acct", "k", "12", "3"), ID("v", "acct", "k", "1", "23"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.a == tt.b) != tt.same {
				t.Errorf("%s vs %s: same = %v, want %v", tt.a, tt.b, tt.a == tt.b, tt.same)
			}
		})
	}
}

// Ids are published and deduplicated on: the derivation must not drift.
func TestIDIsStable(t *testing.T) {
	tests := []struct{ got, want string }{
		// command.result, as bridge/outbound derives it (unchanged since v1).
		{ID("callbridge", "byai-main", "command.result", "cmd-1"), "0c6fc5b1-d376-8c87-b550-c35cad007d4d"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("id = %s, want %s", tt.got, tt.want)
		}
	}
	id := CallFinishedID("yiwise", "yiwise-east", "119")
	if len(id) != 36 || id[14] != '8' || id[8] != '-' {
		t.Errorf("id %s is not a version-8 UUID", id)
	}
}

func BenchmarkID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = CallFinishedID("byai", "byai-main", "1540384412")
	}
}
