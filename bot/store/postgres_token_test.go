package store

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/resetbot/resetbot/bot/store/pgtest"
)

// fakeTokenSource hands out numbered tokens, as azidentity would hand out Entra access tokens.
type fakeTokenSource struct{ calls atomic.Int32 }

func (f *fakeTokenSource) token(context.Context) (string, error) {
	n := f.calls.Add(1)
	return "eyJ0eXAiOiJKV1QifQ.entra-token-" + string(rune('0'+n)) + ".sig", nil
}

// With WithPassword, the password PostgreSQL asks for at sign-in is the token of the moment, not
// anything in the DSN. A server that asks for a cleartext password (as Azure Database for
// PostgreSQL does over TLS) records what it got.
func TestPostgresPasswordFromTokenSource(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		be := pgproto3.NewBackend(conn, conn)
		if _, err := be.ReceiveStartupMessage(); err != nil {
			got <- "startup: " + err.Error()
			return
		}
		be.Send(&pgproto3.AuthenticationCleartextPassword{})
		if err := be.Flush(); err != nil {
			return
		}
		if err := be.SetAuthType(pgproto3.AuthTypeCleartextPassword); err != nil {
			return
		}
		msg, err := be.Receive()
		if pw, ok := msg.(*pgproto3.PasswordMessage); ok && err == nil {
			got <- pw.Password
		} else {
			got <- "no password message"
		}
		be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: `password authentication failed for user "resetbot-identity"`})
		be.Flush()
	}()

	var src fakeTokenSource
	dsn := "postgres://resetbot-identity@" + ln.Addr().String() + "/resetbot?sslmode=disable&connect_timeout=5"
	_, err = Open(context.Background(), dsn, WithPassword(src.token))
	if err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("Open: %v, want the server's refusal", err)
	}
	select {
	case pw := <-got:
		if pw != "eyJ0eXAiOiJKV1QifQ.entra-token-1.sig" {
			t.Errorf("the server got password %q, want the token", pw)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server never got a password")
	}
	if strings.Contains(err.Error(), "entra-token") {
		t.Errorf("the error shows the token: %v", err)
	}
}

// A token that cannot be had stops Open with the token source's reason.
func TestPostgresTokenSourceFailure(t *testing.T) {
	failing := func(context.Context) (string, error) {
		return "", errors.New("ManagedIdentityCredential: no managed identity endpoint is available")
	}
	_, err := Open(context.Background(), "postgres://resetbot@127.0.0.1:1/resetbot?sslmode=disable&connect_timeout=2", WithPassword(failing))
	if err == nil || !strings.Contains(err.Error(), "no managed identity endpoint") {
		t.Errorf("Open: %v, want the token source's error", err)
	}
}

// On a real server every new connection asks the token source (the local test server trusts
// loopback, so it does not check the value): the store works as usual with the hook in place.
func TestPostgresWithTokenSourceWorks(t *testing.T) {
	dsn := pgtest.DSN(t)
	var src fakeTokenSource
	st, err := Open(context.Background(), dsn, WithPassword(src.token))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if src.calls.Load() == 0 {
		t.Error("no connection asked the token source")
	}
}
