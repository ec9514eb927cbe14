package yiwise

import "testing"

// BenchmarkParseWebhook measures the parser alone on the documented sample bodies.
func BenchmarkParseWebhook(b *testing.B) {
	acct := testAccount()
	for _, name := range []string{"robot_call_record.json", "robot_call_job.json"} {
		body := sample(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				outs, err := Vendor{}.ParseWebhook(acct, body)
				if err != nil || len(outs) != 1 {
					b.Fatalf("ParseWebhook = %v, %v", outs, err)
				}
			}
		})
	}
}
