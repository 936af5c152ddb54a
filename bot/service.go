// Package bot is the reset service: the one path every request takes, from what a person said to
// the password in their DM and the record in the trail. Adapters hand it a chat.Incoming (Handle);
// it parses (command.go), resolves the people involved, asks the policy (policy.go, worded in
// policy_reasons.go), waits for an approval where one is needed (approval.go), takes every target
// through the steps of the one state machine (lifecycle.go, run.go, steps.go), delivers (deliver.go)
// and audits each step (trail.go). The words people read are in words.go.
//
// bot owns the service and the vocabulary it shares with its parts (User, Request, Store,
// Directory). It imports chat and its own leaves, never an adapter, graphsvc, a store engine or
// internal/: those are handed to it through the interfaces it declares. It knows no platform's
// markup or routing: adapters hand it plain text and keep their routes opaque (ConversationRef).
package bot

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/bot/keys"
	"github.com/resetbot/resetbot/chat"
)

// Config is how the service behaves; Defaults gives what a new install gets.
type Config struct {
	Policy         Policy
	Password       PasswordSpec
	ApprovalTTL    time.Duration // how long an approval stays open
	DMTTL          time.Duration // how long the temporary password DM stays before it is withdrawn
	RevokeSessions bool          // revoke the target's sign-in sessions after a reset
	RequireMFA     bool          // forceChangePasswordNextSignInWithMfa
	// RateLimit is the most resets one person may ask for per RateWindow, counted in targets (a list
	// of 40 counts 40); 0 = no limit.
	RateLimit int
	// TenantLimit is the most resets everyone together may ask for per RateWindow before new ones
	// wait for an approver from the audit readers; 0 = no brake.
	TenantLimit int
	// ListApprovalAbove: when the targets an agent asked for within RateWindow, this list included,
	// are more than this, the list needs a second person's approval; 0 = never.
	ListApprovalAbove int
	// MaxListRows is the most users one list may name.
	MaxListRows int
	RateWindow  time.Duration
	Location    *time.Location // how times are shown to people
	// ApprovalsChannel names the channel approval cards go to, as people know it ("#approvals").
	ApprovalsChannel string
	// CallTimeout bounds the work done for one command or click, Graph calls included. A list's run
	// is not bound by it: it goes on until done or until the service closes.
	CallTimeout time.Duration

	// EncryptionKey seals a temporary password between its reset and its delivery, so a process
	// stopped in between still delivers it (32 bytes; RESETBOT_ENCRYPTION_KEY). AuditKey
	// authenticates requests and approvals, so a row written into the store by anyone but resetbot
	// resets nobody (32 bytes; RESETBOT_AUDIT_KEY). A service made without them makes its own, which
	// do not survive a restart: only the sandbox and tests should do that.
	EncryptionKey []byte
	AuditKey      []byte
	// LinkedIdentity are the platforms whose people are trusted only once they linked their chat
	// account to Entra by signing in (Slack: a profile email can be edited by a workspace admin, a
	// SCIM misconfiguration or the person). Platforms that sign the person's Entra object ID into
	// every request (Teams) need no link.
	LinkedIdentity []chat.Platform
	// LinkLifetime is how long a link stands before its owner signs in again (default 90 days).
	LinkLifetime time.Duration
	// Credential is what a reset gives unless the command says (--tap, --password).
	Credential Credential
	// AccessPassLifetime is how long a Temporary Access Pass works (0: the tenant policy's default);
	// AccessPassOnce makes it good for one sign-in.
	AccessPassLifetime time.Duration
	AccessPassOnce     bool
	// Verify is how much caller verification is asked for; VerifyPrivileged, when set, is what is
	// asked for privileged targets (admins, owners of role-assignable groups), such as require where
	// Verify is offer. VerifyTTL is how long a verification waits for its answer.
	Verify           VerifyMode
	VerifyPrivileged VerifyMode
	VerifyTTL        time.Duration
	// NotifyManager sends the user's manager the notice the user gets.
	NotifyManager bool
	// WasntMeRevokes: when a user says a reset was not theirs, their sessions are revoked again
	// (besides the alert).
	WasntMeRevokes bool
	// Owner names this process in the store's leases; empty makes one up.
	Owner string
	// Hook, when set, is called at every step boundary with its name ("before set adele@…"): tests use
	// it to stop a process at each boundary and start another on the same store.
	Hook func(point string)
}

// Defaults are the settings of a new install: entra mode, approval for privileged targets, 30
// minutes to approve, 15 minutes before the password DM goes, sessions revoked.
func Defaults() Config {
	return Config{
		Policy:             Policy{Mode: ModeEntra, PrivilegedNeedsApproval: true},
		Password:           PasswordSpec{Length: 16},
		ApprovalTTL:        30 * time.Minute,
		DMTTL:              15 * time.Minute,
		RevokeSessions:     true,
		RateLimit:          30,
		TenantLimit:        100,
		ListApprovalAbove:  50,
		MaxListRows:        MaxBulkRows,
		RateWindow:         time.Hour,
		Location:           time.Local,
		ApprovalsChannel:   "#approvals",
		CallTimeout:        2 * time.Minute,
		LinkedIdentity:     []chat.Platform{chat.PlatformSlack},
		LinkLifetime:       90 * 24 * time.Hour,
		Credential:         CredentialPassword,
		AccessPassLifetime: time.Hour,
		AccessPassOnce:     true,
		Verify:             VerifyOffer,
		VerifyTTL:          5 * time.Minute,
		WasntMeRevokes:     true,
	}
}

// MaxBulkRows is the most users one list may name unless configured otherwise.
const MaxBulkRows = 5000

// Service is the one path every request takes: parse → resolve → policy → (approval) → reset →
// deliver → audit. Adapters turn what arrives into a chat.Incoming and call Handle; they hold no
// policy.
type Service struct {
	dir   Directory
	store Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	obs   Observer

	seal      *keys.Sealer // temporary passwords between reset and delivery
	reqMAC    *keys.MAC    // requests: who asked for whom
	approvMAC *keys.MAC    // approvals: who said yes

	mu      sync.RWMutex
	chats   map[chat.Platform]chat.Chat
	alerts  []chat.AuditPoster
	running map[string]bool // requests this process is working, so a resume never runs one twice

	// life bounds the work that outlives a command (a list's run): Close ends it.
	life  context.Context
	close context.CancelFunc

	// signIn and agentDir are set by EnableAgentSignIn: resets of synced users (writeback) and, in
	// delegated-only mode, all resets run as the signed-in agent through them.
	signIn   AgentSignIn
	agentDir AgentDirectory
}

// NewService wires the service. log may be nil.
func NewService(dir Directory, store Store, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 2 * time.Minute
	}
	if cfg.MaxListRows == 0 {
		cfg.MaxListRows = MaxBulkRows
	}
	if cfg.RateWindow == 0 {
		cfg.RateWindow = time.Hour
	}
	if cfg.LinkLifetime == 0 {
		cfg.LinkLifetime = 90 * 24 * time.Hour
	}
	if cfg.Credential == "" {
		cfg.Credential = CredentialPassword
	}
	if cfg.Verify == "" {
		cfg.Verify = VerifyOff
	}
	if cfg.VerifyTTL == 0 {
		cfg.VerifyTTL = 5 * time.Minute
	}
	if cfg.Owner == "" {
		cfg.Owner = newID("P-")
	}
	if len(cfg.EncryptionKey) != keys.Size {
		log.Warn("no encryption key given: using one made for this process, so a password interrupted by a restart cannot be delivered after it")
		cfg.EncryptionKey = keys.Random()
	}
	if len(cfg.AuditKey) != keys.Size {
		log.Warn("no audit key given: using one made for this process, so requests waiting across a restart are refused after it")
		cfg.AuditKey = keys.Random()
	}
	seal, _ := keys.NewSealer(cfg.EncryptionKey, "temporary passwords") // the key's size is checked above
	reqMAC, _ := keys.NewMAC(cfg.AuditKey, "requests")
	approvMAC, _ := keys.NewMAC(cfg.AuditKey, "approvals")
	life, cancel := context.WithCancel(context.Background())
	return &Service{dir: dir, store: store, cfg: cfg, log: log, now: time.Now, obs: noObserver{},
		seal: seal, reqMAC: reqMAC, approvMAC: approvMAC,
		chats: map[chat.Platform]chat.Chat{}, running: map[string]bool{}, life: life, close: cancel}
}

// SetObserver sends counts of what the service does to o (metrics).
func (s *Service) SetObserver(o Observer) { s.obs = o }

// SetClock replaces the clock, for tests and the demo.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Attach registers the chat platform an adapter serves.
func (s *Service) Attach(p chat.Platform, c chat.Chat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chats[p] = c
}

// AttachAuditChannel adds an audit channel that hears alerts as they happen: a row the bot did not
// write, the tenant-wide brake, a target refused at the moment of its reset.
func (s *Service) AttachAuditChannel(p chat.AuditPoster) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts = append(s.alerts, p)
}

// Close stops the work that outlives a command (a list's run): what it had not finished is left,
// recorded, for the next start or another replica.
func (s *Service) Close() { s.close() }

func (s *Service) chat(p chat.Platform) (chat.Chat, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.chats[p]
	if !ok {
		return nil, fmt.Errorf("no chat adapter attached for %s", p)
	}
	return c, nil
}

// hook marks a step boundary for tests (Config.Hook).
func (s *Service) hook(point string) {
	if s.cfg.Hook != nil {
		s.cfg.Hook(point)
	}
}

// Tick does the timed work: it expires previews and approvals past their deadline, withdraws
// password DMs that are due, and finishes requests an interrupted process left (on any replica:
// every step is a compare-and-swap, and a request is worked by the process holding its lease). Run
// it every few seconds.
func (s *Service) Tick(ctx context.Context) {
	s.expireWaiting(ctx)
	s.withdrawDue(ctx)
	s.Resume(ctx)
	s.sendNotices(ctx)
}

// Run calls Tick every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func asDirectoryError(err error) *DirectoryError {
	var de *DirectoryError
	if errors.As(err, &de) {
		return de
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &DirectoryError{Kind: ErrTransient, Message: "Graph did not answer in time",
			Remedy: "Nothing is known to have changed. Check /resetpw status, then try again."}
	}
	return &DirectoryError{Kind: ErrOther, Message: err.Error()}
}

func roleIDs(rs []RoleAssignment) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.TemplateID)
	}
	return ids
}

func roleList(ids []string) string {
	seen := map[string]bool{}
	var names []string
	for _, id := range ids {
		if n := RoleName(id); !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "no admin roles"
	}
	return strings.Join(names, ", ")
}

// newID makes a short opaque ID from crypto/rand in an alphabet with no look-alikes.
func newID(prefix string) string {
	b := make([]byte, 6)
	max := big.NewInt(int64(len(requestIDAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("crypto/rand failed: " + err.Error()) // the platform's CSPRNG is gone; nothing is safe
		}
		b[i] = requestIDAlphabet[n.Int64()]
	}
	return prefix + string(b)
}
