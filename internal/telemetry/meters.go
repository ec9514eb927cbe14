package telemetry

// Meters is the nil-safe way to record metrics: callers hold a *Telemetry that may
// be nil in tests, and a nil *Metrics records nothing.
func (t *Telemetry) Meters() *Metrics { return t.metrics() }
