package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ConversationRef is what the bot must remember to write to someone later, when they are not
// talking to it: which regional connector serves them, the 1:1 conversation it opened with them,
// and their Teams user ID (29:…) in this bot's channel.
type ConversationRef struct {
	ServiceURL     string    `json:"serviceUrl,omitempty"`
	ConversationID string    `json:"conversationId,omitempty"`
	UserID         string    `json:"userId,omitempty"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// ConversationRefs keeps conversation references across restarts. Keys are the adapter's own:
//
//	user:<aadObjectId>   a person: their 1:1 conversation with the bot, service URL, Teams user ID
//	tenant:<tenantId>    the service URL the tenant's activities last came from
//	approvals            the approvals channel's service URL
//
// The store will implement it once it has a table for them; until then MemoryRefs (tests) and
// FileRefs (a small JSON file, for one replica) do.
type ConversationRefs interface {
	GetConversationRef(ctx context.Context, key string) (ConversationRef, bool, error)
	PutConversationRef(ctx context.Context, key string, ref ConversationRef) error
}

// MemoryRefs keeps references in memory: they are lost on restart.
type MemoryRefs struct {
	mu sync.Mutex
	m  map[string]ConversationRef
}

// NewMemoryRefs makes an empty in-memory reference store.
func NewMemoryRefs() *MemoryRefs { return &MemoryRefs{m: map[string]ConversationRef{}} }

// GetConversationRef implements ConversationRefs.
func (s *MemoryRefs) GetConversationRef(_ context.Context, key string) (ConversationRef, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[key]
	return r, ok, nil
}

// PutConversationRef implements ConversationRefs.
func (s *MemoryRefs) PutConversationRef(_ context.Context, key string, ref ConversationRef) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = ref
	return nil
}

// FileRefs keeps references in a JSON file, rewritten atomically (temporary file + rename) on every
// change, so a restart of a single replica loses nothing. Several replicas need the store instead.
type FileRefs struct {
	mu   sync.Mutex
	path string
	m    map[string]ConversationRef
}

// OpenFileRefs loads the file at path, or starts empty when it does not exist yet.
func OpenFileRefs(path string) (*FileRefs, error) {
	f := &FileRefs{path: path, m: map[string]ConversationRef{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the Teams conversation references: %w", err)
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &f.m); err != nil {
			return nil, fmt.Errorf("%s is not a Teams conversation reference file (%v); move it away to start afresh", path, err)
		}
	}
	return f, nil
}

// GetConversationRef implements ConversationRefs.
func (f *FileRefs) GetConversationRef(_ context.Context, key string) (ConversationRef, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.m[key]
	return r, ok, nil
}

// PutConversationRef implements ConversationRefs.
func (f *FileRefs) PutConversationRef(_ context.Context, key string, ref ConversationRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, had := f.m[key]
	f.m[key] = ref
	if err := f.save(); err != nil {
		if had {
			f.m[key] = old
		} else {
			delete(f.m, key)
		}
		return err
	}
	return nil
}

func (f *FileRefs) save() error {
	b, err := json.MarshalIndent(f.m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".teams-refs-*")
	if err != nil {
		return fmt.Errorf("saving the Teams conversation references: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the Teams conversation references: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the Teams conversation references: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving the Teams conversation references: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("saving the Teams conversation references: %w", err)
	}
	return nil
}
