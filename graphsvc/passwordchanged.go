package graphsvc

import (
	"context"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/resetbot/resetbot/bot"
)

// PasswordChangedAt reads lastPasswordChangeDateTime: how a list interrupted mid-run tells whether a
// reset that was sent but never confirmed did happen. The zero time means Entra has no record.
func (c *Client) PasswordChangedAt(ctx context.Context, userID string) (time.Time, error) {
	if strings.TrimSpace(userID) == "" {
		return time.Time{}, &bot.DirectoryError{Kind: bot.ErrOther, Message: "no user ID given", Remedy: RemedyOther}
	}
	gu, err := c.users().ByUserId(userID).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "lastPasswordChangeDateTime"}},
	})
	if err != nil {
		return time.Time{}, c.fail(ctx, err)
	}
	if gu == nil || gu.GetLastPasswordChangeDateTime() == nil {
		return time.Time{}, nil
	}
	return gu.GetLastPasswordChangeDateTime().UTC(), nil
}
