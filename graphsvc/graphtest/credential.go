package graphtest

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Credential returns a token credential that hands out the server's token, so a Graph SDK client can
// be built against the simulator without azidentity or a token endpoint.
func (s *Server) Credential() azcore.TokenCredential { return staticCredential{token: s.Token} }

type staticCredential struct{ token string }

func (c staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}
