package outbound

import (
	"context"
	"slices"
	"testing"
)

func TestChainRunsItsStepsInTheOrderGiven(t *testing.T) {
	var order []string
	step := func(name string) Middleware {
		return func(next Handler) Handler {
			return func(ctx context.Context, c *Command) error {
				order = append(order, name+" in")
				err := next(ctx, c)
				order = append(order, name+" out")
				return err
			}
		}
	}
	h := chain(step("a"), step("b"))(func(context.Context, *Command) error {
		order = append(order, "handler")
		return nil
	})
	if err := h(context.Background(), &Command{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"a in", "b in", "handler", "b out", "a out"}
	if !slices.Equal(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
}
