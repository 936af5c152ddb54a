package bot

import (
	"context"
	"time"
)

// ConversationRef is what a platform's adapter must remember to write to someone who is not talking
// to the bot (Teams: the regional service that serves them, the 1:1 conversation opened with them,
// their Teams user ID). It is no secret. Like chat.MessageRef.Route, Route is opaque to everyone but
// the adapter that wrote it: the service and the store keep it as it is and never read it.
type ConversationRef struct {
	Route     string
	UpdatedAt time.Time
}

// ConversationRefs keeps conversation references by a key the adapter chooses.
type ConversationRefs interface {
	GetConversationRef(ctx context.Context, key string) (ConversationRef, bool, error)
	PutConversationRef(ctx context.Context, key string, ref ConversationRef) error
}
