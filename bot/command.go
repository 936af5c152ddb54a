package bot

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// CommandKind is what a person asked for.
type CommandKind int

const (
	CmdHelp CommandKind = iota
	CmdReset
	CmdStatus
	CmdWhoami
	CmdApprove
	CmdDeny
	CmdBulkRun    // go ahead with a previewed list
	CmdBulkCancel // drop a previewed list
	CmdLogin      // sign in as the agent (resets that run with the agent's own token)
	CmdLogout     // forget the agent's sign-in
	CmdAudit      // a summary of the audit trail, for approvers and security
	CmdBulk       // a list of users in a file sent with the command
	CmdMethods    // the authentication methods a user has registered, for choosing a verification
	CmdVerify     // the agent's choice of how to verify the caller: chat, manager or skip
	CmdPick       // the target tapping (or typing) one of the numbers sent to them
	CmdConfirm    // the target's manager: the caller is the target
	CmdDispute    // the target's manager: the caller is not the target
	CmdWasntMe    // the target: I did not ask for this reset
)

// Command is a parsed chat command. Every way in (slash command, typed message, button click,
// terminal line) is turned into one of these and goes through Service.Handle.
type Command struct {
	Kind      CommandKind
	Targets   []string // CmdReset: UPNs or object IDs, deduplicated, in the order given
	Reason    string   // --reason
	RequestID string   // CmdStatus, CmdApprove, CmdDeny
	// Since is how far back CmdAudit looks (--since 7d); Targets then holds at most one UPN or object
	// ID whose records to show, as agent or as target.
	Since time.Duration

	// Credential is what a reset gives (--tap, --password); "" means the configured default.
	Credential Credential
	// Verified is the agent's own account of how they verified the caller (--verified TEXT): the
	// trail shows it as stated by the agent, not checked by the bot.
	Verified string
	// Choice is CmdVerify's method (chat, manager, skip) and a reset's --verify; CmdPick's number.
	Choice string
}

// Ways a caller is verified, as the agent chooses them (Command.Choice of CmdVerify, --verify).
const (
	VerifyByChat    = "chat"
	VerifyByManager = "manager"
	VerifySkip      = "skip"
)

// Limits on what one command may carry.
const (
	MaxTargetsPerCommand = 20
	MaxReasonLength      = 500
	MaxCommandLength     = 8000
)

// UsageError is bad input: the message says exactly what was wrong and how to say it instead.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// ParseCommand parses the text of a command, with or without a leading "/resetpw" or "resetpw".
// It never touches anything: bad input comes back as a *UsageError.
func ParseCommand(text string) (Command, error) {
	if len(text) > MaxCommandLength {
		return Command{}, usagef("That command is %d characters long; the most I take is %d.", len(text), MaxCommandLength)
	}
	if !utf8.ValidString(text) {
		return Command{}, usagef("That command is not valid text (UTF-8).")
	}
	words, err := splitWords(text)
	if err != nil {
		return Command{}, err
	}
	if len(words) > 0 && (strings.EqualFold(words[0], "/resetpw") || strings.EqualFold(words[0], "resetpw")) {
		words = words[1:]
	}
	if len(words) == 0 {
		return Command{Kind: CmdHelp}, nil
	}
	switch verb := strings.ToLower(words[0]); verb {
	case "help", "-h", "--help", "?":
		return Command{Kind: CmdHelp}, nil
	case "whoami":
		if len(words) > 1 {
			return Command{}, usagef("`whoami` takes nothing after it.")
		}
		return Command{Kind: CmdWhoami}, nil
	case "bulk":
		rest, reason, err := takeReason(words[1:])
		if err != nil {
			return Command{}, err
		}
		var opts resetOptions
		if rest, err = opts.take(rest); err != nil {
			return Command{}, err
		}
		if opts.verify != "" || opts.verified != "" {
			return Command{}, usagef("Caller verification is for one user on the phone; a list takes `--tap` or `--password` and `--reason`.")
		}
		if len(rest) > 0 {
			return Command{}, usagef("`bulk` takes a CSV file sent with it, not names: `resetpw bulk` with the file attached.")
		}
		return Command{Kind: CmdBulk, Reason: reason, Credential: opts.credential}, nil
	case "login", "logout":
		if len(words) > 1 {
			return Command{}, usagef("`%s` takes nothing after it.", verb)
		}
		if verb == "login" {
			return Command{Kind: CmdLogin}, nil
		}
		return Command{Kind: CmdLogout}, nil
	case "audit":
		return parseAudit(words[1:])
	case "run", "cancel":
		if len(words) != 2 {
			return Command{}, usagef("Say which list: `%s B-7F3K9Q`.", verb)
		}
		id, ok := normalizeID("B-", words[1])
		if !ok {
			return Command{}, usagef("%q is not a list ID; they look like B-7F3K9Q.", clip(words[1]))
		}
		kind := CmdBulkRun
		if verb == "cancel" {
			kind = CmdBulkCancel
		}
		return Command{Kind: kind, RequestID: id}, nil
	case "methods":
		if len(words) != 2 {
			return Command{}, usagef("Say whose methods to show: `methods adele@contoso.com`.")
		}
		t, err := parseTarget(words[1])
		if err != nil {
			return Command{}, err
		}
		return Command{Kind: CmdMethods, Targets: []string{t}}, nil
	case "verify":
		return parseVerify(words[1:])
	case "pick":
		return parsePick(words[1:])
	case "confirm", "dispute", "wasntme":
		kind := map[string]CommandKind{"confirm": CmdConfirm, "dispute": CmdDispute, "wasntme": CmdWasntMe}[verb]
		if len(words) != 2 {
			return Command{}, usagef("Say which request: `%s R-7F3K9Q`.", verb)
		}
		id, ok := NormalizeRequestID(words[1])
		if !ok && kind == CmdWasntMe {
			id, ok = normalizeID("B-", words[1])
		}
		if !ok {
			return Command{}, usagef("%q is not a request ID; they look like R-7F3K9Q.", clip(words[1]))
		}
		return Command{Kind: kind, RequestID: id}, nil
	case "status", "approve", "deny":
		kind := map[string]CommandKind{"status": CmdStatus, "approve": CmdApprove, "deny": CmdDeny}[verb]
		rest, reason, err := takeReason(words[1:])
		if err != nil {
			return Command{}, err
		}
		for _, w := range rest {
			if strings.HasPrefix(w, "-") {
				return Command{}, usagef("I don't know the option %q. `%s` knows `--reason`.", clip(w), verb)
			}
		}
		if reason != "" && kind != CmdDeny {
			return Command{}, usagef("`%s` takes no --reason.", verb)
		}
		if len(rest) != 1 {
			return Command{}, usagef("Say which request: `%s R-7F3K9Q`.", verb)
		}
		id, ok := NormalizeRequestID(rest[0])
		if !ok && strings.HasPrefix(strings.ToUpper(rest[0]), "B-") {
			// A list: its approval, or its status (the results, line by line, that its summary
			// points to with "status B-…").
			id, ok = normalizeID("B-", rest[0])
		}
		if !ok {
			return Command{}, usagef("%q is not a request ID; they look like R-7F3K9Q.", clip(rest[0]))
		}
		return Command{Kind: kind, RequestID: id, Reason: reason}, nil
	}
	rest, reason, err := takeReason(words)
	if err != nil {
		return Command{}, err
	}
	var opts resetOptions
	if rest, err = opts.take(rest); err != nil {
		return Command{}, err
	}
	if len(rest) == 0 {
		return Command{}, usagef("Say whose password to reset: `/resetpw user@contoso.com`.")
	}
	seen := map[string]bool{}
	var targets []string
	for _, w := range rest {
		t, err := parseTarget(w)
		if err != nil {
			return Command{}, err
		}
		if k := strings.ToLower(t); !seen[k] {
			seen[k] = true
			targets = append(targets, t)
		}
	}
	if len(targets) > MaxTargetsPerCommand {
		return Command{}, usagef("That is %d users; one command resets at most %d. Split the list into smaller commands.",
			len(targets), MaxTargetsPerCommand)
	}
	if len(targets) > 1 && (opts.verified != "" || opts.verify != "") {
		return Command{}, usagef("Caller verification is for one user on the phone: `--verify` and `--verified` take one user, not a list.")
	}
	return Command{Kind: CmdReset, Targets: targets, Reason: reason, Credential: opts.credential, Verified: opts.verified, Choice: opts.verify}, nil
}

// resetOptions are the options of a reset besides --reason.
type resetOptions struct {
	credential Credential
	verified   string
	verify     string
}

// take removes the reset's options from words: --tap, --password, --verify chat|manager|skip,
// --no-verify (the same as --verify skip) and --verified TEXT (TEXT one word, or quoted).
func (o *resetOptions) take(words []string) (rest []string, err error) {
	for i := 0; i < len(words); i++ {
		w := words[i]
		lw := strings.ToLower(w)
		value := func(name string) (string, error) {
			if v, ok := strings.CutPrefix(w, name+"="); ok {
				return v, nil
			}
			if i+1 >= len(words) {
				return "", usagef("`%s` needs a value after it.", name)
			}
			i++
			return words[i], nil
		}
		switch {
		case lw == "--tap" || lw == "--password":
			c := CredentialAccessPass
			if lw == "--password" {
				c = CredentialPassword
			}
			if o.credential != "" && o.credential != c {
				return nil, usagef("Give `--tap` or `--password`, not both.")
			}
			o.credential = c
		case lw == "--no-verify":
			o.verify = VerifySkip
		case lw == "--verify" || strings.HasPrefix(lw, "--verify="):
			v, err := value("--verify")
			if err != nil {
				return nil, err
			}
			switch v = strings.ToLower(v); v {
			case VerifyByChat, VerifyByManager, VerifySkip:
				o.verify = v
			default:
				return nil, usagef("`--verify` takes chat, manager or skip, not %q.", clip(v))
			}
		case lw == "--verified" || strings.HasPrefix(lw, "--verified="):
			v, err := value("--verified")
			if err != nil {
				return nil, err
			}
			if v = cleanReason(v); v == "" {
				return nil, usagef("`--verified` needs a few words on how you verified the caller: `--verified \"called back on the HR number\"`.")
			}
			if utf8.RuneCountInString(v) > MaxReasonLength {
				return nil, usagef("`--verified` is %d characters; keep it under %d.", utf8.RuneCountInString(v), MaxReasonLength)
			}
			o.verified = v
		case strings.HasPrefix(w, "-"):
			return nil, usagef("I don't know the option %q. I know `--reason`, `--tap`, `--password`, `--verify`, `--verified` and `--no-verify`.", clip(w))
		default:
			rest = append(rest, w)
		}
	}
	if o.verified != "" && o.verify != "" {
		return nil, usagef("Give `--verified` (you verified the caller yourself) or `--verify` (the bot does), not both.")
	}
	return rest, nil
}

// parseVerify reads `verify R-7F3K9Q chat|manager|skip` (or R-7F3K9Q:chat, as a button sends it).
func parseVerify(words []string) (Command, error) {
	id, choice, err := idAndChoice("verify", words, "chat")
	if err != nil {
		return Command{}, err
	}
	switch choice = strings.ToLower(choice); choice {
	case VerifyByChat, VerifyByManager, VerifySkip:
	default:
		return Command{}, usagef("`verify` takes chat, manager or skip: `verify %s chat`.", id)
	}
	return Command{Kind: CmdVerify, RequestID: id, Choice: choice}, nil
}

// parsePick reads `pick 42`, `pick R-7F3K9Q 42` or `pick R-7F3K9Q:42`.
func parsePick(words []string) (Command, error) {
	var id, n string
	if len(words) == 1 && !strings.Contains(words[0], ":") {
		n = words[0]
	} else {
		var err error
		if id, n, err = idAndChoice("pick", words, "42"); err != nil {
			return Command{}, err
		}
	}
	if len(n) != 2 || n[0] < '1' || n[0] > '9' || n[1] < '0' || n[1] > '9' {
		return Command{}, usagef("Pick one of the numbers I sent you, such as `pick 42`.")
	}
	return Command{Kind: CmdPick, RequestID: id, Choice: n}, nil
}

// idAndChoice reads "R-7F3K9Q choice" or "R-7F3K9Q:choice".
func idAndChoice(verb string, words []string, example string) (id, choice string, err error) {
	switch len(words) {
	case 1:
		id, choice, _ = strings.Cut(words[0], ":")
	case 2:
		id, choice = words[0], words[1]
	default:
		return "", "", usagef("Say which request: `%s R-7F3K9Q %s`.", verb, example)
	}
	nid, ok := NormalizeRequestID(id)
	if !ok {
		return "", "", usagef("%q is not a request ID; they look like R-7F3K9Q.", clip(id))
	}
	if choice == "" {
		return "", "", usagef("Say which: `%s %s %s`.", verb, nid, example)
	}
	return nid, choice, nil
}

// parseAudit reads `audit [UPN] [--since 7d]`.
func parseAudit(words []string) (Command, error) {
	c := Command{Kind: CmdAudit, Since: DefaultAuditWindow}
	sinceSet := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		lw := strings.ToLower(w)
		var val string
		switch {
		case lw == "--since":
			if i+1 >= len(words) {
				return Command{}, usagef("`--since` needs a time after it: `--since 7d` or `--since 24h`.")
			}
			i++
			val = words[i]
		case strings.HasPrefix(lw, "--since="):
			val = w[len("--since="):]
		case strings.HasPrefix(w, "-"):
			return Command{}, usagef("I don't know the option %q. `audit` knows `--since`.", clip(w))
		default:
			if len(c.Targets) > 0 {
				return Command{}, usagef("`audit` shows one person's records at a time: `audit adele@contoso.com --since 7d`.")
			}
			t, err := parseTarget(w)
			if err != nil {
				return Command{}, err
			}
			c.Targets = []string{t}
			continue
		}
		if sinceSet {
			return Command{}, usagef("Give `--since` once.")
		}
		sinceSet = true
		d, err := ParseWindow(val)
		if err != nil || d <= 0 {
			return Command{}, usagef("%q is not a time I understand for `--since`; say `7d` (days) or `24h` (hours).", clip(val))
		}
		if d > MaxAuditWindow {
			return Command{}, usagef("`audit` looks back at most %d days; for longer, ask an admin for `resetbot audit export`.", int(MaxAuditWindow/(24*time.Hour)))
		}
		c.Since = d
	}
	return c, nil
}

// takeReason removes "--reason TEXT" or "--reason=TEXT" from words. Everything after --reason is the
// reason, so it needs no quotes; quotes are honoured all the same.
func takeReason(words []string) (rest []string, reason string, err error) {
	for i, w := range words {
		lw := strings.ToLower(w)
		switch {
		case lw == "--reason" || lw == "-r":
			if i+1 >= len(words) {
				return nil, "", usagef("`--reason` needs some text after it: `--reason \"locked out, INC0042\"`.")
			}
		case strings.HasPrefix(lw, "--reason="):
		default:
			rest = append(rest, w)
			continue
		}
		// Options typed after the reason (`--reason "locked out" --tap`) are options, not words of
		// the reason: a reset must not silently give a password when a pass was asked for.
		tail := words[i+1:]
		for len(tail) > 0 {
			last := strings.ToLower(tail[len(tail)-1])
			if last == "--tap" || last == "--password" || last == "--no-verify" {
				rest = append(rest, tail[len(tail)-1])
				tail = tail[:len(tail)-1]
				continue
			}
			if len(tail) >= 2 {
				if prev := strings.ToLower(tail[len(tail)-2]); prev == "--verify" || prev == "--verified" {
					rest = append(rest, tail[len(tail)-2:]...)
					tail = tail[:len(tail)-2]
					continue
				}
			}
			break
		}
		if lw == "--reason" || lw == "-r" {
			reason = strings.Join(tail, " ")
		} else {
			reason = strings.Join(append([]string{w[len("--reason="):]}, tail...), " ")
		}
		if reason, err = checkReason(reason); err != nil {
			return nil, "", err
		}
		if reason == "" {
			return nil, "", usagef("`--reason` needs some text after it.")
		}
		return rest, reason, nil
	}
	return rest, "", nil
}

// checkReason cleans a reason, typed after --reason or in a card's box, and holds it to
// MaxReasonLength. An empty result means no reason was given.
func checkReason(s string) (string, error) {
	s = cleanReason(s)
	if n := utf8.RuneCountInString(s); n > MaxReasonLength {
		return "", usagef("The reason is %d characters; keep it under %d.", n, MaxReasonLength)
	}
	return s, nil
}

// cleanReason drops control characters (which could forge lines in the trail or a card) and
// invisible format characters — bidirectional overrides that make "INC0042" read as something else
// on screen, zero-width spaces that make two equal-looking reasons differ — and folds white space.
func cleanReason(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r):
			return ' '
		case unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// splitWords splits on white space, honouring "double", 'single' and “smart” quotes, which chat
// clients substitute for straight ones as people type. For the same reason an em or en dash that
// starts a word and is followed by a letter (—reason, –tap: what macOS, iOS, Teams and Outlook make
// of "--") is read as "--"; inside quotes it stays as typed.
func splitWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		quote rune
		inTok bool
	)
	closing := map[rune]rune{'"': '"', '\'': '\'', '“': '”', '”': '”', '‘': '’', '’': '’'}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case quote != 0:
			if r == quote || (quote == '”' && r == '“') {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '“' || r == '”' || r == '‘' || (r == '\'' && !inTok):
			quote = closing[r]
			inTok = true
		case (r == '—' || r == '–') && !inTok && i+1 < len(rs) && unicode.IsLetter(rs[i+1]):
			cur.WriteString("--")
			inTok = true
		case unicode.IsSpace(r):
			if inTok {
				words = append(words, cur.String())
				cur.Reset()
				inTok = false
			}
		default:
			cur.WriteRune(r)
			inTok = true
		}
	}
	if quote != 0 {
		return nil, usagef("A quote is not closed. Put the reason in matching quotes: `--reason \"locked out\"`.")
	}
	if inTok {
		words = append(words, cur.String())
	}
	return words, nil
}

var (
	// upnLocalRe is the characters Entra allows before the @ of a UPN (guests add #EXT#).
	upnLocalRe = regexp.MustCompile(`^[A-Za-z0-9.'_!#^~&+\-]{1,113}$`)
	domainRe   = regexp.MustCompile(`^(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?))+$`)
)

// parseTarget checks one target: a UPN or email address, or an object ID. A platform's own markup
// around an address (Slack's <mailto:…>) is its adapter's to remove before the text gets here.
func parseTarget(w string) (string, error) {
	w = strings.TrimRight(w, ",;")
	if IsGUID(w) {
		return strings.ToLower(w), nil
	}
	at := strings.LastIndexByte(w, '@')
	if at <= 0 || at == len(w)-1 {
		return "", usagef("%q is not a user name. Give a UPN such as adele@contoso.com.", clip(w))
	}
	local, domain := w[:at], w[at+1:]
	if len(w) > 256 || !upnLocalRe.MatchString(local) || strings.HasPrefix(local, ".") ||
		strings.HasSuffix(local, ".") || strings.Contains(local, "..") || !domainRe.MatchString(domain) {
		return "", usagef("%q is not a valid UPN. It should look like adele@contoso.com.", clip(w))
	}
	return local + "@" + strings.ToLower(domain), nil
}

// requestIDAlphabet is Crockford's base32: no I, L, O or U, so IDs survive being read aloud.
const requestIDAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NormalizeRequestID accepts "R-7F3K9Q", "r-7f3k9q" or "7F3K9Q" and returns the canonical form.
func NormalizeRequestID(s string) (string, bool) { return normalizeID("R-", s) }

func normalizeID(prefix, s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, prefix)
	if len(s) < 4 || len(s) > 12 {
		return "", false
	}
	for _, r := range s {
		if !strings.ContainsRune(requestIDAlphabet, r) {
			return "", false
		}
	}
	return prefix + s, true
}

// clip shortens outside input before it is echoed back.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 60 {
		return s
	}
	return string([]rune(s)[:57]) + "…"
}
