package botframework_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/adapters/teams/botframework/botframeworktest"
)

const testAppID = "4e5e7b07-0000-4000-8000-000000000001"

func TestVerifierRefusesNoAppID(t *testing.T) {
	if _, err := botframework.NewVerifier(botframework.VerifierConfig{}); err == nil {
		t.Error("a verifier without an app ID was made")
	}
}

// While the metadata cannot be had, requests are refused and the fetches are spaced out.
func TestMetadataOutage(t *testing.T) {
	var hits atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	v, err := botframework.NewVerifier(botframework.VerifierConfig{AppID: testAppID, MetadataURL: down.URL, AllowHTTPMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	bf := botframeworktest.NewAuthority(t, testAppID)
	tok := "Bearer " + bf.Token(t, botframeworktest.TokenSpec{ServiceURL: "https://smba.trafficmanager.net/teams/"})
	for range 5 {
		if _, err := v.Verify(t.Context(), tok); !errors.Is(err, botframework.ErrUnauthorized) {
			t.Fatalf("err = %v", err)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("the metadata was fetched %d times during the outage, want 1", n)
	}
	if v.Ready(t.Context()) == nil {
		t.Fatal("ready during the outage")
	}
	// Plain http metadata is refused outside tests.
	if _, err := botframework.NewVerifier(botframework.VerifierConfig{AppID: testAppID, MetadataURL: "http://login.botframework.com/x"}); err == nil {
		t.Fatal("http metadata accepted")
	}
}
