package teams

import (
	"context"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// The store keeps a reference as the adapter wrote it; the adapter writes the JSON the store has
// always held, so references kept before the route was opaque still read, and an older replica
// still reads what this one writes.
func TestReferencesKeepTheirStoredForm(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	stored := `{"serviceUrl":"https://smba.trafficmanager.net/emea/","conversationId":"a:1xyz","userId":"29:1abc","updatedAt":"2026-11-27T10:00:00Z"}`
	want := ConversationRef{ServiceURL: "https://smba.trafficmanager.net/emea/", ConversationID: "a:1xyz", UserID: "29:1abc", UpdatedAt: at}

	mem := NewMemoryRefs()
	r := routes{mem}
	if err := mem.PutConversationRef(ctx, "user:old", bot.ConversationRef{Route: stored, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := r.GetConversationRef(ctx, "user:old")
	if err != nil || !ok || got != want {
		t.Fatalf("a stored reference reads as %+v %v %v, want %+v", got, ok, err, want)
	}

	if err := r.PutConversationRef(ctx, "user:new", want); err != nil {
		t.Fatal(err)
	}
	kept, _, _ := mem.GetConversationRef(ctx, "user:new")
	if kept.Route != stored || !kept.UpdatedAt.Equal(at) {
		t.Errorf("written as %+v, want the route %s", kept, stored)
	}

	if err := mem.PutConversationRef(ctx, "user:bad", bot.ConversationRef{Route: "not json"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.GetConversationRef(ctx, "user:bad"); err == nil || ok {
		t.Errorf("a damaged reference read as found (%v) without an error", ok)
	}
}
