package bot

import "github.com/resetbot/resetbot/chat"

// words is how platform p names things in what the service says: its adapter's vocabulary where it
// gives one (chat.Speaker), else the defaults, which are Slack's words and the configured name of
// the approvals channel. The service never asks which platform it is on to choose its words.
func (s *Service) words(p chat.Platform) chat.Vocabulary {
	v := chat.Vocabulary{App: "resetbot", Reset: "/resetpw", Command: "/resetpw ", YourDM: "your DMs", ByDM: "by DM", TheirDM: "by DM",
		SendFile: "Open a direct message with the bot, attach the CSV file and send it with the text `resetpw bulk`."}
	if c, err := s.chat(p); err == nil {
		if sp, ok := c.(chat.Speaker); ok {
			v = sp.Vocabulary()
		}
	}
	if v.Approvals == "" {
		v.Approvals = s.cfg.ApprovalsChannel
	}
	return v
}

// Words is how platform p names things (see words): for the parts that speak for the service, such
// as the agents' sign-in.
func (s *Service) Words(p chat.Platform) chat.Vocabulary { return s.words(p) }

// command is a command other than a reset as it is typed on the platform: "/resetpw status R-…",
// or the bare "status R-…" of Teams' command menu.
func command(v chat.Vocabulary, rest string) string { return v.Command + rest }
