package platform

import (
	"context"

	"github.com/callbridge/callbridge/internal/command"
)

type companyKey struct{}

// WithCompanyID returns ctx carrying the command's companyId, for the Client methods
// whose arguments do not carry the command (ImportCustomers, ControlTask of a saga's
// own steps). An empty id leaves ctx as it is.
func WithCompanyID(ctx context.Context, id command.ID) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, companyKey{}, id)
}

// CompanyID returns the companyId WithCompanyID put in ctx, or "" (the account's own).
func CompanyID(ctx context.Context) command.ID {
	id, _ := ctx.Value(companyKey{}).(command.ID)
	return id
}
