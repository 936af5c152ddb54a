package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/chat"
)

// A list sent to the bot in Teams: the person attaches a CSV in their 1:1 chat with ResetPW (the
// manifest says supportsFiles), Teams stores it in their OneDrive and sends the bot a message with
// an attachment of type application/vnd.microsoft.teams.file.download.info whose content carries a
// short-lived, pre-authorised downloadUrl. The bot fetches it with a plain GET — never with its own
// token, which is for the connector only — from SharePoint hosts only, reads at most
// chat.MaxFileBytes+1 and hands the bytes to the service like any other list.

// fileDownloadInfo is the attachment's content type for a file a person sent.
const fileDownloadInfo = "application/vnd.microsoft.teams.file.download.info"

// fileDownloadTimeout bounds the download of one list.
const fileDownloadTimeout = 30 * time.Second

// sentFile is a file attachment of a message.
type sentFile struct {
	Name        string
	DownloadURL string
	FileType    string
}

// files returns the files a message carries.
func (a *inbound) files() []sentFile {
	var out []sentFile
	for _, at := range a.Attachments {
		if at.ContentType != fileDownloadInfo {
			continue
		}
		raw, err := json.Marshal(at.Content) // msbotbuilder-go keeps Content as interface{}
		if err != nil {
			continue
		}
		var c struct {
			DownloadURL string `json:"downloadUrl"`
			FileType    string `json:"fileType"`
		}
		if json.Unmarshal(raw, &c) != nil {
			continue
		}
		out = append(out, sentFile{Name: path.Base(strings.ReplaceAll(at.Name, "\\", "/")), DownloadURL: c.DownloadURL, FileType: c.FileType})
	}
	return out
}

// fileHosts are where Teams keeps the files people send a bot: their OneDrive, on SharePoint, in
// the public and national clouds.
var fileHosts = []string{".sharepoint.com", ".sharepoint-df.com", ".sharepoint.us", ".sharepoint.de", ".sharepoint.cn"}

// allowedFileURL checks a download URL before anything is fetched from it.
func (a *Adapter) allowedFileURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("the file's download link is not a URL")
	}
	host := strings.ToLower(u.Hostname())
	if a.cfg.InsecureLoopback && botframework.IsLoopbackHost(host) {
		return nil // the development switch: the playground serves files from this machine
	}
	listed := func() bool {
		for _, h := range a.cfg.FileHosts {
			if h = strings.ToLower(strings.TrimSpace(h)); h != "" && (host == h || strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:])) {
				return true
			}
		}
		return false
	}
	if u.Scheme != "https" && !(botframework.IsLoopbackHost(host) && listed()) {
		return errors.New("the file's download link is not https")
	}
	for _, h := range fileHosts {
		if strings.HasSuffix(host, h) {
			return nil
		}
	}
	if listed() {
		return nil
	}
	return fmt.Errorf("the file's download link points to %s, not to SharePoint", host)
}

// receiveFile downloads the one file of a message for the service. ok is false when the person was
// told why not.
func (a *Adapter) receiveFile(ctx context.Context, act *inbound, reply chat.Replier) (*chat.File, bool) {
	refuse := func(title string) (*chat.File, bool) {
		_ = reply.Reply(ctx, chat.Message{Title: title, Text: "Nothing was reset."})
		return nil, false
	}
	files := act.files()
	switch {
	case act.group():
		return refuse("📎 Send a list in our 1:1 chat, not here: Teams gives bots files only there.")
	case len(files) > 1:
		return refuse("📎 Send one list at a time: that message had several files.")
	}
	f := files[0]
	ext := strings.ToLower(path.Ext(f.Name))
	if ext != ".csv" && ext != ".txt" && ext != ".tsv" {
		return refuse(fmt.Sprintf("⚠️ %s is not a CSV file (nor tab-separated text). Save the list as CSV (UTF-8) and send it again.", botframework.Truncate(f.Name, 80)))
	}
	if err := a.allowedFileURL(f.DownloadURL); err != nil {
		a.log.Warn("teams: a file's download link refused", "why", err.Error())
		return refuse("⚠️ I could not fetch that file from Teams. Send it again as an attachment.")
	}
	ctx, cancel := context.WithTimeout(ctx, fileDownloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.DownloadURL, nil)
	if err != nil {
		return refuse("⚠️ I could not fetch that file from Teams. Send it again as an attachment.")
	}
	resp, err := a.fileClient().Do(req)
	if err != nil {
		a.log.Warn("teams: downloading a list failed", "err", redactURL(err))
		return refuse("⚠️ I could not download that file from Teams. Send it again.")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		a.log.Warn("teams: downloading a list failed", "status", resp.StatusCode)
		return refuse("⚠️ I could not download that file from Teams (its link may have expired). Send it again.")
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, chat.MaxFileBytes+1))
	if err != nil {
		return refuse("⚠️ I could not download that file from Teams. Send it again.")
	}
	return &chat.File{Name: f.Name, Data: data}, true
}

// fileClient fetches files: no bot token on it, a timeout, and redirects only to allowed hosts.
func (a *Adapter) fileClient() *http.Client {
	return &http.Client{Timeout: fileDownloadTimeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		return a.allowedFileURL(req.URL.String())
	}}
}

// redactURL keeps a download link's pre-authorised query (a bearer secret) out of the log.
func redactURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return ue.Op + " " + u.Scheme + "://" + u.Host + ": " + ue.Err.Error()
		}
	}
	return "the download failed"
}
