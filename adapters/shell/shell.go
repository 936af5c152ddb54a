package shell

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

// Handler is the part of the bot the terminal talks to: the service's one door, and its timed work
// (the demo's clock moves only when told, so the terminal runs it after each line).
type Handler interface {
	chat.Handler
	Tick(ctx context.Context)
}

// Adapter is the terminal chat. It is also a chat.Chat: DMs, the approvals channel and card updates
// are printed with a label saying where they would appear.
type Adapter struct {
	mu      sync.Mutex
	out     io.Writer
	persona string // UPN of the person at the keyboard
	tenant  string
	seq     int
	// Advance moves the demo's clock forward (for "/wait"); nil when the clock is real.
	Advance func(d time.Duration)
	// Digest posts the audit digest now (for "/digest"); nil when there is none.
	Digest func(ctx context.Context) error
	// WithoutChat are the people (by UPN, lower case) who have no chat account here: the bot can't
	// tell them anything or ask them to pick a number.
	WithoutChat map[string]bool
	// SampleList is the list "/bulk" sends when no file is named; nil: "/bulk" asks for one.
	SampleList *chat.File
}

// New makes a terminal chat writing to out, acting as the persona with the given UPN.
func New(out io.Writer, persona string) *Adapter {
	return &Adapter{out: out, persona: strings.ToLower(persona), tenant: "demo"}
}

// Actor is the persona at the keyboard as the bot sees them.
func (a *Adapter) Actor() chat.Actor {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.actorFor(a.persona)
}

func (a *Adapter) actorFor(upn string) chat.Actor {
	return chat.Actor{Platform: chat.PlatformShell, Tenant: a.tenant, UserID: upn, Email: upn, Name: upn}
}

func (a *Adapter) print(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	io.WriteString(a.out, s)
}

const shellHelp = `Terminal commands (everything else goes to the bot, with or without "/resetpw"):
  /as UPN       act as another person, e.g. /as sam@contoso.com
  /whoami       which persona you are
  /bulk FILE    send a CSV list (a UserPrincipalName column) as if attached to "resetpw bulk";
                /bulk alone sends the demo's sample list
  /wait 31m     move the demo clock forward (approvals expire, password DMs are withdrawn)
  /digest       post the audit digest to #it-audit now (what security sees each morning)
  /quit         leave
`

// Run reads lines from in until it ends or ctx is done. Each line is handled to the end before the
// next is read, so a piped script gives the same output every time.
func (a *Adapter) Run(ctx context.Context, h Handler, in io.Reader, prompt bool) error {
	r := bufio.NewReader(in)
	for {
		if prompt {
			a.print(a.Actor().UserID + "> ")
		}
		raw, size, more, err := readLine(r, maxLineBytes)
		if err != nil {
			return err
		}
		if !more {
			return nil // end of input
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if size > maxLineBytes {
			// A pasted file or a runaway script: refused whole, and the demo goes on with the
			// next line rather than ending on it.
			a.print(fmt.Sprintf("(a line of %s was not sent: a command is at most %d characters. To reset many people, put them in a CSV file and send it with /bulk FILE.)\n",
				kilobytes(size), bot.MaxCommandLength))
			continue
		}
		line := strings.TrimSpace(string(raw))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !prompt {
			a.print(a.Actor().UserID + ": " + line + "\n")
		}
		if quit := a.meta(ctx, h, line); quit {
			return nil
		}
	}
}

// maxLineBytes is the longest line the terminal passes on: any command the bot takes, with room
// for spaces around it.
const maxLineBytes = bot.MaxCommandLength + 1024

// readLine reads one line without its line ending, keeping at most max bytes of it; size is the
// whole line's length, so a longer one is known and skipped to its end. more is false at the end
// of input.
func readLine(r *bufio.Reader, max int) (raw []byte, size int, more bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		size += len(chunk)
		if len(raw) <= max {
			raw = append(raw, chunk[:min(len(chunk), max+1-len(raw))]...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return raw, size, size > 0, nil
		case err != nil:
			return nil, size, false, err
		}
		ending := len(chunk) - len(bytes.TrimRight(chunk, "\r\n"))
		return bytes.TrimRight(raw, "\r\n"), size - ending, true, nil
	}
}

func kilobytes(n int) string {
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%d KB", (n+512)/1024)
}

// meta handles the terminal's own commands and passes the rest to the bot.
func (a *Adapter) meta(ctx context.Context, h Handler, line string) (quit bool) {
	fields := strings.Fields(line)
	switch strings.ToLower(fields[0]) {
	case "/quit", "/exit":
		return true
	case "/help":
		if len(fields) == 1 {
			a.print(shellHelp)
			break
		}
		a.Say(ctx, h, line)
	case "/as":
		if len(fields) != 2 || !strings.Contains(fields[1], "@") {
			a.print("usage: /as user@contoso.com\n")
			break
		}
		a.mu.Lock()
		a.persona = strings.ToLower(fields[1])
		a.mu.Unlock()
		a.print("(you are now " + fields[1] + ")\n")
	case "/bulk":
		switch {
		case len(fields) == 1 && a.SampleList != nil:
			a.print("(sending the demo's sample list, " + a.SampleList.Name + "; /bulk FILE sends your own)\n")
			a.sendFile(ctx, h, a.SampleList.Name, a.SampleList.Data)
		case len(fields) != 2:
			a.print("usage: /bulk users.csv\n")
		default:
			a.SendList(ctx, h, fields[1])
		}
	case "/digest":
		if a.Digest == nil {
			a.print("(no digest here)\n")
			break
		}
		if err := a.Digest(ctx); err != nil {
			a.print(Render("(error)", chat.ViewOn(chat.Message{Title: err.Error()}, chat.SurfaceReply)))
		}
	case "/whoami":
		a.print("(you are " + a.Actor().UserID + ")\n")
	case "/wait":
		d, err := parseWait(fields)
		if err != nil || a.Advance == nil {
			a.print("usage: /wait 31m (only in the demo, whose clock can move)\n")
			break
		}
		a.Advance(d)
		a.print(fmt.Sprintf("(%s later)\n", d))
		h.Tick(ctx)
	default:
		a.Say(ctx, h, line)
	}
	return false
}

func parseWait(fields []string) (time.Duration, error) {
	if len(fields) != 2 {
		return 0, fmt.Errorf("want one duration")
	}
	if n, err := strconv.Atoi(fields[1]); err == nil {
		return time.Duration(n) * time.Minute, nil
	}
	d, err := time.ParseDuration(fields[1])
	if err == nil && d <= 0 {
		err = fmt.Errorf("not forward")
	}
	return d, err
}

// Say sends one line to the bot as the current persona and runs the timed jobs after it.
func (a *Adapter) Say(ctx context.Context, h Handler, text string) {
	actor := a.Actor()
	reply := chat.ReplierFunc(func(ctx context.Context, m chat.Message) error {
		a.print(Render("(only you)", chat.ViewOn(m, chat.SurfaceReply)))
		return nil
	})
	if err := h.Handle(ctx, chat.Incoming{Actor: actor, Text: text, Reply: reply}); err != nil {
		a.print(Render("(error)", chat.ViewOn(chat.Message{Title: err.Error()}, chat.SurfaceReply)))
	}
	h.Tick(ctx)
}

// SendList sends a file to the bot as the current persona, as a chat upload would.
func (a *Adapter) SendList(ctx context.Context, h Handler, path string) {
	reply := chat.ReplierFunc(func(ctx context.Context, m chat.Message) error {
		a.print(Render("(only you)", chat.ViewOn(m, chat.SurfaceReply)))
		return nil
	})
	data, err := readFile(path)
	if err != nil {
		text := "Nothing was sent."
		if a.SampleList != nil {
			text += " /bulk alone sends the demo's sample list."
		}
		_ = reply.Reply(ctx, chat.Message{Title: "⚠️ " + err.Error(), Text: text})
		return
	}
	a.sendFile(ctx, h, filepath.Base(path), data)
}

// sendFile sends a list's content as if attached to "resetpw bulk".
func (a *Adapter) sendFile(ctx context.Context, h Handler, name string, data []byte) {
	reply := chat.ReplierFunc(func(ctx context.Context, m chat.Message) error {
		a.print(Render("(only you)", chat.ViewOn(m, chat.SurfaceReply)))
		return nil
	})
	in := chat.Incoming{Actor: a.Actor(), Text: "resetpw bulk", Reply: reply, File: &chat.File{Name: name, Data: data}}
	if err := h.Handle(ctx, in); err != nil {
		a.print(Render("(error)", chat.ViewOn(chat.Message{Title: err.Error()}, chat.SurfaceReply)))
	}
	h.Tick(ctx)
}

// readFile reads a file to send, at most one byte more than the service takes, so the service can
// say it is too large. Errors are worded for the person at the keyboard.
func readFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("there is no file %s here", path)
	case err != nil:
		return nil, fmt.Errorf("I can't read %s: %v", path, errors.Unwrap(err))
	case st.IsDir():
		return nil, fmt.Errorf("%s is a folder; give the path of a CSV file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("I can't read %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, chat.MaxFileBytes+1))
}

var _ chat.FileSender = (*Adapter)(nil)

// DMFile implements chat.FileSender: the file is printed as its first lines, as the digest's CSV is.
func (a *Adapter) DMFile(_ context.Context, to chat.Actor, m chat.Message, f *chat.Attachment) error {
	a.print(Render("DM to "+to.UserID, chat.ViewOn(m, chat.SurfaceReply)) + fileLines(f, "DM to "+to.UserID))
	return nil
}

var _ chat.Reacher = (*Adapter)(nil)

// Reach implements chat.Reacher: everyone in the demo's tenant has a terminal persona, but the
// people in WithoutChat.
func (a *Adapter) Reach(_ context.Context, p chat.Person) (chat.Actor, error) {
	upn := strings.ToLower(p.UPN)
	if upn == "" || a.WithoutChat[upn] {
		return chat.Actor{}, fmt.Errorf("%w: %s has no chat account in this demo", chat.ErrUnreachable, p.UPN)
	}
	return a.actorFor(upn), nil
}

// DM implements chat.Chat.
func (a *Adapter) DM(_ context.Context, to chat.Actor, m chat.Message) (chat.MessageRef, error) {
	ref := a.ref("D-" + to.UserID)
	a.print(Render("DM to "+to.UserID, chat.ViewOn(m, chat.SurfaceDM)))
	return ref, nil
}

// PostApproval implements chat.Chat.
func (a *Adapter) PostApproval(_ context.Context, m chat.Message) (chat.MessageRef, error) {
	ref := a.ref("#approvals")
	a.print(Render("#approvals", chat.ViewOn(m, chat.SurfaceChannel)))
	return ref, nil
}

// Update implements chat.Chat.
func (a *Adapter) Update(_ context.Context, ref chat.MessageRef, m chat.Message) error {
	a.print(Render(ref.Channel+" (card updated)", chat.ViewOn(m, chat.SurfaceChannel)))
	return nil
}

// Withdraw implements chat.Chat.
func (a *Adapter) Withdraw(_ context.Context, ref chat.MessageRef) error {
	a.print(Render("DM to "+strings.TrimPrefix(ref.Channel, "D-"), chat.ViewOn(chat.Message{Title: "🗑  (the temporary password message was deleted)"}, chat.SurfaceReply)))
	return nil
}

func (a *Adapter) ref(channel string) chat.MessageRef {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	return chat.MessageRef{Platform: chat.PlatformShell, Channel: channel, ID: strconv.Itoa(a.seq)}
}
