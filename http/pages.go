package http

// The server-rendered pages: the citizen's own code (with who looked at
// their data), the check-in page a scanned venue code opens, the venue
// poster with its rotating live code and its printable static code, the
// checkpoint verifier, the operator console (console.go), and the error
// pages. Every page is in Chinese and English (from the lang
// parameter, then the lang cookie, then Accept-Language; Chinese by default),
// every string comes from the messages table below, every colour is also
// given as a shape and a word, and nothing is fetched from another host: the
// templates, the CSS and the scripts are embedded in the binary.

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"healthcode"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var templates = template.Must(template.New("").ParseFS(templateFS, "templates/*.html"))

// displayZone is the time zone of the times pages show: Beijing time, the
// one official time of every region a node serves.
var displayZone = time.FixedZone("UTC+8", 8*3600)

// Languages of the pages.
const (
	langZH = "zh"
	langEN = "en"
)

// langCookie remembers a language chosen on a page.
const langCookie = "lang"

// negotiateLang picks the page language: the lang parameter, then the lang
// cookie, then the first of Chinese and English in Accept-Language by
// quality; Chinese when none says. fromParam reports a choice made by the
// parameter, which the page then remembers in the cookie.
func negotiateLang(r *http.Request) (lang string, fromParam bool) {
	if l, ok := parseLang(r.URL.Query().Get("lang")); ok {
		return l, true
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(c.Value); ok {
			return l, false
		}
	}
	return acceptLanguage(r.Header.Get("Accept-Language")), false
}

func parseLang(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "zh", "zh-cn", "zh-hans":
		return langZH, true
	case "en":
		return langEN, true
	}
	return "", false
}

// acceptLanguage returns langZH or langEN, whichever the header ranks
// higher (ties go to the earlier entry); langZH if it names neither.
func acceptLanguage(h string) string {
	best, bestQ := langZH, -1.0
	for part := range strings.SplitSeq(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		var l string
		switch primary {
		case "zh":
			l = langZH
		case "en":
			l = langEN
		default:
			continue
		}
		if q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

// msg is one string of the pages in both languages.
type msg struct{ zh, en string }

// messages is every string the pages show. Keys with the prefixes in
// jsPrefixes are also sent to the verifier's script.
var messages = map[string]msg{
	"app.name":          {"健康码", "Health code"},
	"nav.label":         {"主导航", "Main"},
	"nav.skip":          {"跳到正文", "Skip to content"},
	"nav.home":          {"我的健康码", "My health code"},
	"nav.verify":        {"核验健康码", "Verify a code"},
	"nav.checkin":       {"扫场所码", "Check in"},
	"nav.console":       {"工作台", "Console"},
	"lang.other":        {"English", "中文"},
	"lang.other.label":  {"Switch to English", "切换到中文"},
	"footer.rules":      {"颜色只来自公开的规则。", "Colours come only from published rules."},
	"footer.rules.link": {"查看现行规则", "Read the rules in force"},
	"footer.privacy": {"核验只能看到颜色、打码姓名和有效期，看不到任何医疗信息。",
		"A checkpoint sees the colour, the masked name and the validity: nothing medical."},

	"login.title":          {"登录", "Log in"},
	"login.token":          {"令牌", "Token"},
	"login.token.help":     {"市民请输入发给您的个人令牌；场所请输入场所令牌；工作人员（运营、审批、审计、流调）请输入本人的工作令牌。", "Citizens: the personal token you were given. Venue owners: the venue's token. Officials (operators, approvers, auditors, epidemiologists): your own official token."},
	"login.submit":         {"登录", "Log in"},
	"login.bad":            {"令牌无效，或不能在这些页面登录（只限市民、场所和工作人员令牌）。", "This token is not a valid citizen, venue or official token for these pages."},
	"login.for_console":    {"请用本人的工作令牌（运营、审批、审计或流调人员）登录，以打开工作台。", "Log in with your own official token (operator, approver, auditor or epidemiologist) to open the console."},
	"login.for_checkin":    {"请先登录，登录后会自动回来完成场所登记。", "Log in to check in: you will come straight back here."},
	"login.for_venue":      {"请用场所令牌登录，以展示场所码。", "Log in with the venue's token to show its code."},
	"login.session_ended":  {"您的登录已失效，请重新登录。", "Your session has ended. Please log in again."},
	"login.verify.hint":    {"在检查点核验别人的健康码？", "Checking other people's codes at a checkpoint?"},
	"logout":               {"退出登录", "Log out"},
	"citizen.title":        {"我的健康码", "My health code"},
	"colour.green":         {"绿码", "Green code"},
	"colour.yellow":        {"黄码", "Yellow code"},
	"colour.red":           {"红码", "Red code"},
	"colour.green.means":   {"可以通行", "You may pass"},
	"colour.yellow.means":  {"限制通行：请按下方说明去做", "Restricted: follow the steps below"},
	"colour.red.means":     {"不可通行：请按指引居家或隔离", "Do not pass: stay home or isolate as instructed"},
	"shape.circle":         {"圆形", "circle"},
	"shape.triangle":       {"三角形", "triangle"},
	"shape.square":         {"方形", "square"},
	"code.shape":           {"标记", "mark"},
	"code.holder":          {"持码人", "Holder"},
	"code.region":          {"发码地区", "Issuing region"},
	"code.qr.label":        {"%s的健康码二维码：%s", "Health QR code of %s: %s"},
	"code.now":             {"当前时间", "Time now"},
	"code.valid_until":     {"二维码有效至", "QR valid until"},
	"code.valid_left":      {"剩余", "time left"},
	"code.expired":         {"二维码已过期，正在刷新…", "This QR has expired. Refreshing…"},
	"code.screenshot_note": {"时钟一直在走；时间不动说明是截图。", "The clock keeps moving: a frozen time means a screenshot."},
	"code.region.unknown":  {"未知地区", "unknown region"},

	"why.title":         {"为什么是这个颜色", "Why this colour"},
	"why.rule":          {"规则", "Rule"},
	"why.ruleset":       {"规则集版本", "Rule set"},
	"why.basis":         {"依据", "Legal basis"},
	"why.lift":          {"如何解除", "What lifts it"},
	"why.lifts_at":      {"最早解除时间", "Lifts at the earliest"},
	"why.no_lift":       {"绿码，无需解除。", "Nothing to lift: the code is green."},
	"why.evidence":      {"所依据的记录", "Records it rests on"},
	"why.evidence.none": {"没有记录：按规则默认为绿码。", "No records: green by default under the rules."},
	"why.evidence.case": {"依据的是相关病例的记录（不属于您本人，故不在此列出）。", "It rests on the records of the case concerned, which are not yours and so are not listed here."},
	"evidence.by":       {"提交方", "submitted by"},
	"evidence.case":     {"关联病例", "case"},
	"evidence.dose":     {"第 %d 剂", "dose %d"},
	"evidence.pooled":   {"混管", "pooled"},

	"history.title":       {"变更记录", "History of changes"},
	"history.none":        {"还没有任何变更。", "No changes yet."},
	"history.by":          {"决定者", "Decided by"},
	"history.evidence_by": {"依据的记录来自", "On records from"},
	"history.proof":       {"日志证明", "Log proof"},
	"history.proof.link":  {"下载第 %d 条日志的证明", "Download the proof of log entry %d"},
	"history.proof.none":  {"未记入日志", "not in the log"},
	"history.record":      {"记录 #%d", "record #%d"},
	"actor.rules":         {"规则自动判定（规则集 %s）", "Automatic, by the rules (rule set %s)"},

	"kind.nucleic_acid_test": {"核酸检测", "Nucleic-acid test"},
	"kind.antigen_test":      {"抗原检测", "Antigen test"},
	"kind.vaccination":       {"疫苗接种", "Vaccination"},
	"kind.diagnosis":         {"诊断", "Diagnosis"},
	"kind.close_contact":     {"密切接触者", "Close contact"},
	"kind.secondary_contact": {"次密切接触者", "Secondary contact"},
	"kind.travel":            {"行程", "Travel"},
	"kind.quarantine_start":  {"开始隔离", "Quarantine started"},
	"kind.quarantine_end":    {"结束隔离", "Quarantine ended"},
	"result.positive":        {"阳性", "positive"},
	"result.negative":        {"阴性", "negative"},
	"diagnosis.suspected":    {"疑似病例", "suspected case"},
	"diagnosis.confirmed":    {"确诊病例", "confirmed case"},
	"diagnosis.asymptomatic": {"无症状感染者", "asymptomatic infection"},
	"diagnosis.fever":        {"发热", "fever"},
	"diagnosis.discharged":   {"出院", "discharged"},
	"risk.high":              {"高风险地区", "high-risk area"},
	"risk.medium":            {"中风险地区", "medium-risk area"},
	"risk.low":               {"低风险地区", "low-risk area"},

	"verify.title":               {"核验健康码", "Verify a health code"},
	"verify.intro":               {"扫描对方出示的二维码。您只会看到颜色、打码姓名和有效期，看不到任何医疗信息。", "Scan the QR code a person shows you. You will see the colour, the masked name and the validity: nothing medical."},
	"verify.scan":                {"扫码", "Scan"},
	"verify.camera.start":        {"打开摄像头扫码", "Scan with the camera"},
	"verify.camera.stop":         {"关闭摄像头", "Stop the camera"},
	"verify.camera.label":        {"摄像头画面", "Camera view"},
	"verify.camera.on":           {"摄像头已打开，请对准二维码。", "The camera is on: point it at the QR code."},
	"verify.camera.unavailable":  {"无法使用摄像头：请上传照片或粘贴二维码文字。", "The camera is not available: upload a photo or paste the code text."},
	"verify.upload":              {"上传二维码照片或截图", "Upload a photo or screenshot of a QR code"},
	"verify.paste":               {"或粘贴二维码文字（以 HCN1: 开头）", "Or paste the code text (it starts with HCN1:)"},
	"verify.check":               {"核验", "Check"},
	"verify.result":              {"核验结果", "Result"},
	"verify.waiting":             {"等待扫码。", "Waiting for a code."},
	"verify.working":             {"正在核验…", "Checking…"},
	"verify.no_qr":               {"图片中没有找到二维码。", "No QR code found in the picture."},
	"verify.bad_image":           {"无法读取这张图片。", "This picture cannot be read."},
	"verify.valid":               {"有效", "Valid"},
	"verify.invalid":             {"无效", "Not valid"},
	"verify.mode.online":         {"已由服务器核验。", "Checked by the server."},
	"verify.mode.offline":        {"离线：已在本设备上用缓存的信任列表核验签名。", "Offline: signature checked on this device against the cached trust list."},
	"verify.mode.unchecked":      {"离线：本设备无法核验签名。请联网核验。", "Offline: this device cannot check the signature. Check it online."},
	"verify.mode.no_trust":       {"离线且没有缓存的信任列表：无法核验签名。请联网打开一次本页。", "Offline with no cached trust list: the signature cannot be checked. Open this page once while online."},
	"verify.holder":              {"持码人", "Holder"},
	"verify.region":              {"发码地区", "Issuing region"},
	"verify.valid_until":         {"有效至", "Valid until"},
	"verify.issued":              {"签发时间", "Issued at"},
	"verify.ruleset":             {"规则集版本", "Rule set"},
	"verify.trust.status":        {"信任列表：%d 把密钥，更新于 %s。", "Trust list: %d key(s), updated %s."},
	"verify.trust.none":          {"还没有缓存信任列表：请联网打开一次本页。", "No trust list cached yet: open this page once while online."},
	"verify.noscript":            {"核验需要启用 JavaScript。", "Verifying needs JavaScript."},
	"reason.qr.malformed":        {"这不是健康码。", "This is not a health code."},
	"reason.qr.unknown_key":      {"签发密钥不在信任列表中。", "It was signed with a key that is not in the trust list."},
	"reason.qr.bad_signature":    {"签名不符：二维码被改动过。", "The signature does not match: the code was altered."},
	"reason.qr.wrong_region":     {"地区与签发密钥不符。", "The region does not match the signing key."},
	"reason.qr.expired":          {"已过期：请对方刷新健康码。", "Expired: ask the person to refresh their code."},
	"reason.qr.not_yet_valid":    {"签发时间在未来：请检查本设备的时间。", "Issued in the future: check this device's clock."},
	"reason.unknown":             {"无法核验。", "It could not be checked."},
	"reject.invalid":             {"无效——不得放行", "Not valid: do not accept"},
	"reject.unchecked":           {"无法核验——不得放行", "Cannot be checked: do not accept"},
	"reject.next":                {"核验下一个", "Check the next code"},
	"citizen.scan":               {"扫场所码登记", "Scan a venue code to check in"},
	"access.title":               {"谁查看过我的数据", "Who looked at my data"},
	"access.none":                {"还没有任何工作人员查看过您的数据。", "No official has looked at your data."},
	"access.intro":               {"每次查看都记录了查看人、单位、目的和关联病例。", "Every read is recorded with who, their unit, the purpose and the case."},
	"access.who":                 {"查看人", "Who"},
	"access.purpose":             {"目的", "Purpose"},
	"access.case":                {"关联病例", "Case"},
	"access.what":                {"查看内容", "What"},
	"access.more":                {"只显示最近 %d 条。", "Only the latest %d are shown."},
	"purpose.contact_tracing":    {"流行病学调查", "contact tracing"},
	"purpose.case_investigation": {"病例调查", "case investigation"},
	"purpose.appeal_review":      {"申诉复核", "appeal review"},
	"purpose.data_correction":    {"数据更正", "data correction"},
	"purpose.oversight":          {"监督检查", "oversight"},
	"purpose.in_person_request":  {"本人到窗口申请凭证", "you asked for a token in person"},
	"role.citizen":               {"市民", "citizen"},
	"role.verifier":              {"核验员", "verifier"},
	"role.venue":                 {"场所", "venue"},
	"role.lab":                   {"检测机构", "laboratory"},
	"role.clinic":                {"医疗机构", "clinic"},
	"role.epidemiologist":        {"流调人员", "epidemiologist"},
	"role.operator":              {"运营人员", "operator"},
	"role.approver":              {"审批人员", "approver"},
	"role.auditor":               {"审计人员", "auditor"},
	"role.admin":                 {"管理员", "administrator"},
	"role.peer":                  {"其他节点", "peer node"},
	"role.system":                {"系统", "system"},

	"venue.home.title":  {"场所码", "Venue codes"},
	"venue.home.intro":  {"已作为场所“%s”登录。输入场所登记时得到的场所编号，打开场所码海报。", "Logged in as the venue owner %s. Enter the venue id you got when registering it to open its poster."},
	"venue.home.id":     {"场所编号", "Venue id"},
	"venue.home.open":   {"打开场所码海报", "Open the poster"},
	"venue.home.bad_id": {"场所编号格式不对。", "That is not a venue id."},

	"poster.title":        {"场所码", "Venue code"},
	"poster.address":      {"地址", "Address"},
	"poster.scan":         {"请用手机扫码登记", "Scan with your phone to check in"},
	"poster.step1":        {"打开手机相机或浏览器扫码。", "Open your phone's camera and scan the code."},
	"poster.step2":        {"登录后自动完成登记。", "Log in if asked: the check-in is then made."},
	"poster.step3":        {"向门口工作人员出示手机上的颜色。", "Show the door keeper the colour on your phone."},
	"poster.live":         {"实时场所码：每 30 秒更换一次，截图或转发无效。", "Live venue code: it changes every 30 seconds; a photo or a forwarded copy proves nothing."},
	"poster.qr.label":     {"%s的实时场所码", "Live venue code of %s"},
	"poster.next":         {"距离换码", "Next code in"},
	"poster.seconds":      {"%d 秒", "%d s"},
	"poster.loading":      {"正在获取场所码…", "Fetching the code…"},
	"poster.offline":      {"离线：连不上服务器，现在没有有效的场所码。", "Offline: the server cannot be reached, so there is no valid code to show."},
	"poster.offline.help": {"请检查网络；恢复后会自动显示新码。", "Check the network: a new code appears by itself once it is back."},
	"poster.retry":        {"%d 秒后重试。", "Trying again in %d s."},
	"poster.session":      {"登录已失效：请重新用场所令牌登录。", "The session has ended: log in again with the venue's token."},
	"poster.not_active":   {"该场所未获批准或已被暂停，不能展示场所码。", "This venue is not approved or is suspended: it cannot show codes."},
	"poster.relogin":      {"重新登录", "Log in again"},
	"poster.fullscreen":   {"全屏显示", "Full screen"},
	"poster.print":        {"打印静态场所码", "Print the static code"},

	"print.title":    {"静态场所码（打印用）", "Printed venue code"},
	"print.stamp":    {"静态码 · 不能证明到场", "Printed code · not proof of presence"},
	"print.warning":  {"用静态码登记只记为“未核实到场”：打印或转发的码不能证明任何人来过这里，也不会单独改变任何人的颜色。有屏幕时请使用实时场所码。", "A check-in with a printed code is recorded as unverified presence: a printed or forwarded code proves nothing about who was here, and can never by itself change anyone's colour. Use the live code on a screen whenever you can."},
	"print.qr.label": {"%s的静态场所码（不能证明到场）", "Printed venue code of %s (not proof of presence)"},
	"print.print":    {"打印", "Print"},
	"print.how":      {"用浏览器的打印功能打印本页。", "Print this page with the browser's print command."},
	"print.back":     {"返回实时场所码", "Back to the live code"},

	"checkin.title":                      {"场所登记", "Check in"},
	"checkin.intro":                      {"扫描场所门口的场所码完成登记。", "Scan the venue code at the entrance to check in."},
	"checkin.scan":                       {"扫场所码", "Scan a venue code"},
	"checkin.camera.start":               {"打开摄像头扫场所码", "Scan with the camera"},
	"checkin.camera.stop":                {"关闭摄像头", "Stop the camera"},
	"checkin.camera.label":               {"摄像头画面", "Camera view"},
	"checkin.camera.on":                  {"摄像头已打开，请对准场所码。", "The camera is on: point it at the venue code."},
	"checkin.camera.unavailable":         {"无法使用摄像头：请上传照片或粘贴场所码文字。", "The camera is not available: upload a photo or paste the code text."},
	"checkin.upload":                     {"或上传场所码的照片", "Or upload a photo of a venue code"},
	"checkin.paste":                      {"或粘贴场所码文字（以 HCV1: 开头）", "Or paste the venue code text (it starts with HCV1:)"},
	"checkin.submit":                     {"登记", "Check in"},
	"checkin.working":                    {"正在登记…", "Checking in…"},
	"checkin.result":                     {"登记结果", "Check-in"},
	"checkin.verified":                   {"已登记：已核实到场", "Checked in: presence verified"},
	"checkin.verified.note":              {"您扫描的是场所屏幕上的实时码。", "You scanned the live code on the venue's screen."},
	"checkin.unverified":                 {"已登记：未核实到场", "Checked in: unverified presence"},
	"checkin.unverified.note":            {"这是打印的或过期的场所码：打印或转发的码不能证明任何事，这次登记不会单独改变您的颜色。", "This was a printed or expired venue code: a printed or forwarded code proves nothing, and this check-in can never by itself change your colour."},
	"checkin.failed":                     {"未登记：%s", "Not checked in: %s"},
	"checkin.venue":                      {"场所", "Venue"},
	"checkin.at":                         {"登记时间", "Checked in at"},
	"checkin.show":                       {"请向门口工作人员出示本页。", "Show this screen to the door keeper."},
	"checkin.no_qr":                      {"图片中没有找到二维码。", "No QR code found in the picture."},
	"checkin.bad_image":                  {"无法读取这张图片。", "This picture cannot be read."},
	"checkin.not_venue":                  {"这不是场所码。", "This is not a venue code."},
	"checkin.offline":                    {"连不上服务器：未登记。请联网后再扫一次。", "The server cannot be reached: nothing was recorded. Scan again once online."},
	"checkin.busy":                       {"服务器繁忙，正在重试…", "The server is busy: trying again…"},
	"checkin.noscript":                   {"登记需要启用 JavaScript。", "Checking in needs JavaScript."},
	"checkin.error.venue.code_malformed": {"这不是场所码：未登记。", "This is not a venue code: nothing was recorded."},
	"checkin.error.venue.bad_mac":        {"场所码是伪造的或已损坏：未登记。", "The venue code is forged or damaged: nothing was recorded."},
	"checkin.error.venue.unknown":        {"没有这个场所：未登记。", "There is no such venue: nothing was recorded."},
	"checkin.error.venue.not_active":     {"该场所已暂停或未获批准：未登记。", "This venue is suspended or not approved: nothing was recorded."},
	"checkin.error.venue.code_future":    {"场所码的时间在未来：请检查设备时间。未登记。", "The venue code is from the future: check the clocks. Nothing was recorded."},
	"checkin.error.checkin.replayed":     {"您已经用这个码登记过了。", "You have already checked in with this code."},
	"checkin.error.unknown":              {"无法登记。", "The check-in failed."},
	"error.title.400":                    {"请求有误", "Bad request"},
	"error.title.401":                    {"需要登录", "Please log in"},
	"error.title.403":                    {"无权访问", "Not allowed"},
	"error.title.404":                    {"找不到页面", "Page not found"},
	"error.title.409":                    {"与现有记录冲突", "Conflict"},
	"error.title.405":                    {"不支持这种请求", "Method not allowed"},
	"error.title.413":                    {"内容太大", "Too large"},
	"error.title.415":                    {"内容格式不对", "Unsupported content"},
	"error.title.429":                    {"尝试太频繁", "Too many attempts"},
	"error.title.500":                    {"出错了", "Something went wrong"},
	"error.title.503":                    {"暂时不可用", "Temporarily unavailable"},
	"error.body.400":                     {"这个请求无法处理。", "This request cannot be handled."},
	"error.body.401":                     {"请先登录。", "Please log in first."},
	"error.body.403":                     {"您的身份不能打开这个页面。", "Your role may not open this page."},
	"error.body.404":                     {"没有这个页面。", "There is no such page."},
	"error.body.409":                     {"这与已有的记录冲突。", "This conflicts with a record that exists."},
	"error.body.405":                     {"这个地址不接受这种请求。", "This address does not take this kind of request."},
	"error.body.413":                     {"提交的内容太大。", "What was sent is too large."},
	"error.body.415":                     {"提交的内容格式不对。", "What was sent is not in the form this page takes."},
	"error.body.429":                     {"尝试太频繁，请稍后再试。", "Too many attempts: please wait a little and try again."},
	"error.body.500":                     {"服务器出错，已记录。请稍后再试。", "The server failed; it has been logged. Please try again later."},
	"error.body.503":                     {"服务暂时不可用，请稍后再试。", "The service is unavailable for now. Please try again shortly."},
	"error.title.tampered":               {"暂不签发健康码：记录与公开日志不一致", "No code for now: the record disagrees with the public log"},
	"error.body.tampered": {"本节点自检发现，存储的记录与透明日志不一致（可能被篡改或回滚）。在问题解决前，不会为相关人员签发健康码，也不会改变其颜色；监督机构已收到警报。您此前的变更回执仍可验证，请保存。如持续出现，请提出申诉或联系卫生健康部门。",
		"This node's self-audit found its stored record disagreeing with the transparency log (it may have been edited or rolled back). Until this is resolved no code is issued for the people concerned and no colour is changed for them; oversight has been alerted. Your receipts of earlier changes still verify: keep them. If this lasts, appeal or contact the health authority."},
	"error.code": {"错误代码", "Error code"},
	"error.home": {"返回首页", "Back to the start"},

	// The operator console.
	"console.title":          {"工作台", "Operator console"},
	"console.whoami":         {"已登录：%s", "Logged in as %s"},
	"console.sections":       {"本页内容", "On this page"},
	"console.choose":         {"请选择", "Choose one"},
	"console.error":          {"未完成：%s", "Not done: %s"},
	"console.error.detail":   {"详细信息（英文）", "Details"},
	"console.lookup.title":   {"查询个人健康码", "Look up a person"},
	"console.lookup.intro":   {"查看一个人的颜色、所依据的记录和变更记录。必须写明目的和关联病例：每次查询都会记下您的姓名、目的和病例，本人可以看到。", "See a person's colour, the records behind it and its history. A purpose and a case are required: each look-up is recorded with your name, the purpose and the case, and the person sees it."},
	"console.lookup.subject": {"个人编号（化名）", "Person (pseudonym)"},
	"console.lookup.purpose": {"目的", "Purpose"},
	"console.lookup.case":    {"关联病例编号", "Case reference"},
	"console.lookup.submit":  {"查询（将被记录）", "Look up (this is recorded)"},
	"console.lookup.result":  {"查询结果：%s", "Result: %s"},
	"console.lookup.recorded": {"这次查看已记录：查看人 %s，目的：%s，病例：%s。本人可以在“谁查看过我的数据”中看到。",
		"This read was recorded: by %s, purpose: %s, case: %s. The person sees it under “Who looked at my data”."},
	"console.lookup.masked":       {"姓名（打码）", "Name (masked)"},
	"console.lookup.reason":       {"理由", "Reason"},
	"console.lookup.evidence":     {"所依据的记录（编号可作为人工调整的依据）", "Records it rests on (their numbers can be an override's basis)"},
	"console.lookup.log":          {"第 %d 条日志", "log entry %d"},
	"console.lookup.other_record": {"#%d · 他人的病例记录", "#%d · a record of another person's case"},
	"console.lookup.no_records":   {"这个颜色不依据任何记录。", "This colour rests on no record."},

	"console.overrides.title": {"人工调整", "Overrides"},
	"console.overrides.intro": {"人工调整只能使用清单中的健康理由，必须有依据的记录和截止时间（最长 14 天）。黄码或红码须经其他单位的审批人员批准才生效，超过 20 人还须审计人员会签；改为绿码的更正由运营人员一人即可生效，同样记入日志。",
		"An override uses a health reason from the list, rests on records and ends within 14 days. Yellow or red takes effect only when an approver of another unit approves it, and for more than 20 people only when an auditor co-signs too; a correction to green takes effect on the operator's word alone, and is logged the same way."},
	"console.override.request":       {"申请人工调整", "Request an override"},
	"console.override.subjects":      {"涉及人员（化名，每行一个）", "People (pseudonyms, one per line)"},
	"console.override.subjects.help": {"黄码或红码超过 %d 人时，还须审计人员会签。", "For yellow or red, more than %d people also need an auditor's co-signature."},
	"console.override.colour":        {"调整为", "Colour"},
	"console.override.colour.help":   {"黄码或红码要等其他单位的审批人员批准；改为绿码立即生效。", "Yellow or red waits for an approver of another unit; green takes effect at once."},
	"console.override.reason":        {"理由（健康理由清单）", "Reason (closed list of health reasons)"},
	"console.override.basis":         {"依据的记录编号", "Records it rests on (record numbers)"},
	"console.override.basis.help":    {"黄码或红码必须依据阳性检测结果或确诊诊断的记录；记录编号可用上方的个人查询找到，多个编号用空格或逗号分开。", "Yellow or red must rest on a positive lab result or a confirmed diagnosis. Find record numbers with the look-up; separate several with spaces or commas."},
	"console.override.case":          {"关联病例编号", "Case reference"},
	"console.override.case.help":     {"理由为流调人员研判时必填。", "Required for an epidemiologist's judgement."},
	"console.override.note":          {"备注", "Note"},
	"console.override.note.help":     {"备注供工作人员和本人阅读，从不决定颜色：颜色只由清单中的理由、依据的记录和工作人员的签署决定。", "The note is for the officials and the person to read. It never decides a colour: only the reason from the list, the records it rests on and the officials' signatures do."},
	"console.override.expires":       {"截止时间（北京时间）", "Ends at (Beijing time)"},
	"console.override.expires.help":  {"最长为现在起 14 天；到期自动解除。", "At most 14 days from now; it ends by itself."},
	"console.override.submit":        {"提交申请", "Request the override"},
	"console.overrides.list":         {"未到期的人工调整", "Overrides not yet ended"},
	"console.overrides.none":         {"没有未到期的人工调整。", "No override is pending or in force."},
	"console.overrides.pending":      {"待您审批的人工调整", "Overrides awaiting your approval"},
	"console.overrides.pending.help": {"您只能批准其他单位的工作人员提出的申请。", "You may approve only what an official of another unit requested."},
	"console.overrides.pending.none": {"没有待审批的人工调整。", "No override awaits approval."},
	"console.overrides.cosign":       {"待会签的批量人工调整", "Bulk overrides awaiting co-signature"},
	"console.overrides.cosign.none":  {"没有待会签的批量人工调整。", "No bulk override awaits co-signature."},

	"console.col.id":        {"编号", "No."},
	"console.col.colour":    {"颜色", "Colour"},
	"console.col.people":    {"人员", "People"},
	"console.col.reason":    {"理由与依据", "Reason and basis"},
	"console.col.note":      {"备注（不决定颜色）", "Note (never decides the colour)"},
	"console.col.ends":      {"截止", "Ends"},
	"console.col.officials": {"工作人员", "Officials"},
	"console.col.status":    {"状态", "Status"},
	"console.col.action":    {"操作", "Action"},
	"console.col.person":    {"本人（化名）", "Person (pseudonym)"},
	"console.col.appeal":    {"申诉内容", "Appeal"},
	"console.col.filed":     {"提交时间", "Filed"},
	"console.col.deadline":  {"答复截止", "Deadline"},
	"console.col.target":    {"场所或地区", "Venue or area"},
	"console.col.level":     {"等级与理由", "Level and reason"},
	"console.col.window":    {"时段", "Window"},

	"console.people":          {"%d 人", "%d people"},
	"console.records":         {"记录", "records"},
	"console.case":            {"病例", "case"},
	"console.requested_by":    {"申请：%s", "Requested by %s"},
	"console.approved_by":     {"批准：%s", "Approved by %s"},
	"console.cosigned_by":     {"会签：%s", "Co-signed by %s"},
	"console.status.pending":  {"待批准", "Pending"},
	"console.status.active":   {"已生效", "In force"},
	"console.status.approved": {"已生效", "In force"},
	"console.awaits.approval": {"等待其他单位的审批人员批准", "awaits an approver of another unit"},
	"console.awaits.cosign":   {"等待审计人员会签", "awaits an auditor's co-signature"},
	"console.approve":         {"批准第 %d 号", "Approve no. %d"},
	"console.same_unit":       {"由您的单位申请，须由其他单位批准", "Requested by your unit: another unit must approve it"},
	"console.cosign":          {"会签第 %d 号", "Co-sign no. %d"},

	"console.appeals.title":           {"申诉", "Appeals"},
	"console.appeals.intro":           {"每条申诉都必须在截止时间前答复；逾期未答复的申诉会上报监督。", "Every appeal must be answered by its deadline; past it, an unanswered appeal is escalated to oversight."},
	"console.appeals.open":            {"待答复的申诉", "Appeals awaiting an answer"},
	"console.appeals.none":            {"没有待答复的申诉。", "No appeal awaits an answer."},
	"console.appeals.escalated":       {"已上报监督的申诉（逾期未答复）", "Appeals escalated to oversight (not answered in time)"},
	"console.appeals.escalated.none":  {"没有上报监督的申诉。", "No appeal has been escalated."},
	"console.appeal.kind.colour":      {"对颜色申诉", "Appeal of the colour"},
	"console.appeal.kind.correction":  {"更正数据", "Correction of data"},
	"console.appeal.status.open":      {"待答复", "Awaiting an answer"},
	"console.appeal.status.escalated": {"已上报监督", "Escalated to oversight"},
	"console.appeal.overdue":          {"已逾期", "Overdue"},
	"console.appeal.answer":           {"答复第 %d 号申诉", "Answer appeal no. %d"},
	"console.appeal.decision":         {"决定", "Decision"},
	"console.appeal.grant":            {"支持（对颜色的申诉会立即更正为绿码，以您的名义记入日志）", "Grant (an appeal of the colour corrects it to green at once, logged in your name)"},
	"console.appeal.deny":             {"驳回", "Deny"},
	"console.appeal.reason":           {"理由（本人会看到）", "Reason (the person reads it)"},
	"console.appeal.submit":           {"发送第 %d 号申诉的答复", "Send the answer to appeal no. %d"},

	"console.designations.title":                {"风险场所和地区", "Risk designations"},
	"console.designations.intro":                {"流调人员申请把某个场所或地区在某一时段认定为风险，必须依据确诊病例或阳性检测结果；须经其他单位的审批人员批准，批准后才重新评估该时段内的到场人员。", "An epidemiologist asks for a venue or an area to be designated a risk for a window of time, citing a confirmed case or a positive lab result; only when an approver of another unit approves it are the visitors of that window re-evaluated."},
	"console.designation.request":               {"申请风险认定", "Request a designation"},
	"console.designation.venue":                 {"场所编号", "Venue id"},
	"console.designation.area":                  {"或地区代码（GB/T 2260，6 位数字）", "Or an area code (GB/T 2260, 6 digits)"},
	"console.designation.target.help":           {"场所和地区只填一项。", "Fill in a venue or an area, not both."},
	"console.designation.level":                 {"风险等级", "Risk level"},
	"console.designation.reason":                {"理由", "Reason"},
	"console.designation.cases":                 {"依据的病例记录编号", "Case records it rests on (record numbers)"},
	"console.designation.cases.help":            {"确诊诊断或阳性检测结果的记录编号，多个用空格或逗号分开。", "Record numbers of confirmed diagnoses or positive lab results; separate several with spaces or commas."},
	"console.designation.from":                  {"时段开始（北京时间）", "Window starts (Beijing time)"},
	"console.designation.until":                 {"时段结束（北京时间）", "Window ends (Beijing time)"},
	"console.designation.window.help":           {"时段最长 14 天，并且必须已经结束。", "The window lasts at most 14 days and must have ended."},
	"console.designation.expires":               {"认定截止时间（北京时间）", "Designation ends at (Beijing time)"},
	"console.designation.submit":                {"提交申请", "Request the designation"},
	"console.designations.list":                 {"未到期的风险认定", "Designations not yet ended"},
	"console.designations.none":                 {"没有未到期的风险认定。", "No designation is pending or in force."},
	"console.designations.pending":              {"待您审批的风险认定", "Designations awaiting your approval"},
	"console.designations.pending.none":         {"没有待审批的风险认定。", "No designation awaits approval."},
	"console.area":                              {"地区 %s", "area %s"},
	"console.venue":                             {"场所 %s", "venue %s"},
	"console.level.high":                        {"高风险", "High risk"},
	"console.level.medium":                      {"中风险", "Medium risk"},
	"designation.reason.case_visited":           {"病例到访", "A case visited"},
	"designation.reason.cluster":                {"聚集性疫情", "A cluster of cases"},
	"designation.reason.environmental_positive": {"环境样本阳性", "A positive environmental sample"},
	"designation.reason.community_transmission": {"社区传播", "Community transmission"},

	"console.done.override.pending":           {"第 %d 号人工调整已提交，等待其他单位的审批人员批准；批准前不会改变任何人的颜色。", "Override no. %d was requested. It changes no one's colour until an approver of another unit approves it."},
	"console.done.override.active":            {"第 %d 号人工调整已生效，并已记入日志。", "Override no. %d is in force and logged."},
	"console.done.override.cosign":            {"已签署第 %d 号人工调整；它还须审计人员会签才生效。", "Override no. %d is signed; it takes effect once an auditor co-signs it."},
	"console.done.override.approval":          {"已会签第 %d 号人工调整；它还须其他单位的审批人员批准才生效。", "Override no. %d is co-signed; it takes effect once an approver of another unit approves it."},
	"console.done.appeal.granted":             {"已支持第 %d 号申诉，并已记入日志。", "Appeal no. %d was granted and logged."},
	"console.done.appeal.denied":              {"已驳回第 %d 号申诉，本人会看到您的理由。", "Appeal no. %d was denied; the person reads your reason."},
	"console.done.designation.pending":        {"第 %d 号风险认定已提交，等待其他单位的审批人员批准。", "Designation no. %d was requested; it awaits an approver of another unit."},
	"console.designation.exposures":           {"产生 %d 个场所暴露（每人每场所一个）", "%d exposures created (one per person per venue)"},
	"console.designation.cosigned":            {"监督员 %s 会签", "co-signed by %s"},
	"console.done.designation.approved":       {"第 %d 号风险认定已生效，相关人员已重新评估。", "Designation no. %d is in force; the people concerned were re-evaluated."},
	"console.error.console.time":              {"时间格式不对：请用日期和时间选择器。", "That is not a date and time: use the date and time picker."},
	"console.error.console.ids":               {"记录编号必须是正整数。", "Record numbers are positive whole numbers."},
	"console.error.console.decision":          {"请选择支持或驳回。", "Choose grant or deny."},
	"console.error.colour.unknown":            {"请选择颜色。", "Choose a colour."},
	"console.error.override.colour":           {"请选择颜色。", "Choose a colour."},
	"console.error.override.reason":           {"请从清单中选择理由。", "Choose a reason from the list."},
	"console.error.override.subjects":         {"请填写 1 到 10000 个人员。", "Name between 1 and 10,000 people."},
	"console.error.override.no_case":          {"黄码或红码必须依据阳性检测结果或确诊诊断的记录，并写明所涉人员关联的病例。", "Yellow or red must rest on a positive lab result or a confirmed diagnosis, and name the case the people are linked to."},
	"console.error.override.unknown_case":     {"没有这个病例：病例由医疗机构的确诊诊断建立，编号形如 C-7K2Q…。", "There is no such case: cases are opened by a clinic's diagnosis and have ids like C-7K2Q…."},
	"console.error.override.case_not_linked":  {"所列人员中有人与该病例没有关联（不是病例本人，没有引用该病例的记录，也没有在其传染期内与其同场所的核验记录）。", "Someone listed is not linked to the case (not the case, no record citing it, no verified shared presence in its infectious window)."},
	"console.error.override.expiry":           {"截止时间必须在现在起 14 天以内。", "The end must be within 14 days from now."},
	"console.error.override.note":             {"备注最长 2000 字节。", "The note is at most 2000 bytes."},
	"console.error.override.self_approval":    {"不能签署自己申请或已签署的人工调整。", "You cannot sign an override you requested or signed already."},
	"console.error.override.same_unit":        {"人工调整必须由其他单位的审批人员批准。", "An override must be approved by an official of another unit."},
	"console.error.override.approved":         {"这项人工调整已经批准过了。", "This override is already approved."},
	"console.error.override.not_pending":      {"这项人工调整已不在等待签署。", "This override no longer awaits signatures."},
	"console.error.override.expired":          {"这项人工调整在批准前已经到期。", "This override ended before it was approved."},
	"console.error.override.cosigned":         {"这项人工调整已经会签过了。", "This override is already co-signed."},
	"console.error.override.no_cosign":        {"这项人工调整涉及人数不多，不需要会签。", "This override names few enough people: it needs no co-signature."},
	"console.error.appeal.answer":             {"请写明本人能看懂的理由。", "Write a reason the person can read."},
	"console.error.appeal.answered":           {"这条申诉已经答复过了。", "This appeal is already answered."},
	"console.error.access.purpose":            {"请从清单中选择查看目的。", "Choose the purpose from the list."},
	"console.error.access.case":               {"查看个人数据必须写明关联病例。", "Reading personal data needs the case it serves."},
	"console.error.person.unknown":            {"没有这个人。", "There is no such person."},
	"console.error.designation.target":        {"场所和地区只填一项。", "Designate either a venue or an area."},
	"console.error.designation.level":         {"请选择风险等级。", "Choose the risk level."},
	"console.error.designation.reason":        {"请从清单中选择理由。", "Choose a reason from the list."},
	"console.error.designation.no_case":       {"风险认定必须依据确诊病例或阳性检测结果的记录。", "A designation must rest on a confirmed case or a positive lab result."},
	"console.error.designation.window":        {"时段必须先开始后结束、最长 14 天，并且已经结束。", "The window must end after it starts, last at most 14 days and have ended."},
	"console.error.designation.expiry":        {"认定截止时间必须在现在起 14 天以内。", "The designation must end within 14 days from now."},
	"console.error.designation.self_approval": {"不能批准自己申请的风险认定。", "You cannot approve a designation you requested."},
	"console.error.designation.same_unit":     {"风险认定必须由其他单位的审批人员批准。", "A designation must be approved by an official of another unit."},
	"console.error.designation.not_pending":   {"这项风险认定已不在等待批准。", "This designation no longer awaits approval."},
	"console.error.designation.expired":       {"这项风险认定在批准前已经到期。", "This designation ended before it was approved."},
	"console.error.venue.unknown":             {"没有这个场所。", "There is no such venue."},

	// Provinces (GB/T 2260, first two digits): a region code is shown with
	// its province.
	"province.11": {"北京市", "Beijing"}, "province.12": {"天津市", "Tianjin"}, "province.13": {"河北省", "Hebei"},
	"province.14": {"山西省", "Shanxi"}, "province.15": {"内蒙古自治区", "Inner Mongolia"}, "province.21": {"辽宁省", "Liaoning"},
	"province.22": {"吉林省", "Jilin"}, "province.23": {"黑龙江省", "Heilongjiang"}, "province.31": {"上海市", "Shanghai"},
	"province.32": {"江苏省", "Jiangsu"}, "province.33": {"浙江省", "Zhejiang"}, "province.34": {"安徽省", "Anhui"},
	"province.35": {"福建省", "Fujian"}, "province.36": {"江西省", "Jiangxi"}, "province.37": {"山东省", "Shandong"},
	"province.41": {"河南省", "Henan"}, "province.42": {"湖北省", "Hubei"}, "province.43": {"湖南省", "Hunan"},
	"province.44": {"广东省", "Guangdong"}, "province.45": {"广西壮族自治区", "Guangxi"}, "province.46": {"海南省", "Hainan"},
	"province.50": {"重庆市", "Chongqing"}, "province.51": {"四川省", "Sichuan"}, "province.52": {"贵州省", "Guizhou"},
	"province.53": {"云南省", "Yunnan"}, "province.54": {"西藏自治区", "Xizang"}, "province.61": {"陕西省", "Shaanxi"},
	"province.62": {"甘肃省", "Gansu"}, "province.63": {"青海省", "Qinghai"}, "province.64": {"宁夏回族自治区", "Ningxia"},
	"province.65": {"新疆维吾尔自治区", "Xinjiang"}, "province.71": {"台湾省", "Taiwan"}, "province.81": {"香港特别行政区", "Hong Kong"},
	"province.82": {"澳门特别行政区", "Macao"},
}

// jsPrefixes select the messages the verifier's script needs;
// checkInPrefixes and posterPrefixes those of the check-in page's and the
// poster's.
var (
	jsPrefixes      = []string{"verify.", "reason.", "colour.", "shape.", "province.", "code.region.unknown"}
	checkInPrefixes = []string{"checkin.", "colour.", "shape."}
	posterPrefixes  = []string{"poster."}
	// bothPrefixes select the messages the verifier shows in both
	// languages, as "zh:key" and "en:key": its verdict on a code that must
	// not be accepted.
	bothPrefixes = []string{"reject.", "reason.", "verify.mode."}
)

// translate returns the message key in lang, or a visible marker for a key
// missing from the table (a test renders every page to find them).
func translate(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return "[[" + key + "]]"
	}
	if lang == langEN {
		return m.en
	}
	return m.zh
}

// pageData is what every template gets. Methods translate and format in
// the page's language.
type pageData struct {
	Lang string // langZH or langEN
	// Title is the message key of the page's title (and its h1).
	Title string
	// Path is the page's path, for the language link.
	Path string
	// Error and Notice are message keys shown at the top of a form.
	Error, Notice string
	// Status and Code describe an error page.
	Status    int
	ErrorCode string
	ErrorBody string // the message key of the error's text, if not the status's
	Scripts   []string

	// The citizen page.
	Code      *MyCodeJSON
	QRSVG     template.HTML
	QRSeconds int64 // seconds the QR stays valid, from the server's clock
	Now       time.Time
	History   []historyRow

	// Who looked at the citizen's data, newest first; AccessMore says
	// that older reads are not shown.
	Access     []accessRow
	AccessMore int

	// The verifier, check-in and poster pages: the messages their scripts
	// show.
	JS map[string]string

	// Next is where the login form leads once logged in.
	Next string
	// BodyClass styles a whole page (the poster fills the screen).
	BodyClass string

	// The venue pages: the venue, the owner's name, the poster's first
	// code for its script, and the printed code's image.
	Venue     *VenueJSON
	Owner     string
	Poster    *posterData
	StaticSVG template.HTML

	// Console is the operator console (console.go).
	Console *consoleData
}

// accessRow is one read of the citizen's data, in words.
type accessRow struct {
	When    string
	ISO     string
	Who     string
	Role    string
	Unit    string
	Purpose string
	Case    string
	What    string
}

// posterData starts the poster's script: the venue, its live code, when
// the next one is due, and the node's clock (the tablet's may be wrong).
type posterData struct {
	Venue     string    `json:"venue"`
	Live      string    `json:"live"`
	RefreshAt time.Time `json:"refresh_at"`
	Now       time.Time `json:"now"`
}

// historyRow is one past decision as the citizen page shows it.
type historyRow struct {
	When       string
	Colour     string
	Shape      string
	Reason     string
	Actor      string
	Submitters string
	LogIndex   int64
}

// T translates a message key.
func (d *pageData) T(key string) string { return translate(d.Lang, key) }

// Tf translates a message key and formats it with args.
func (d *pageData) Tf(key string, args ...any) string { return fmt.Sprintf(d.T(key), args...) }

// Text picks the page's language of a bilingual text, falling back to the
// other language when one is empty.
func (d *pageData) Text(t healthcode.Text) string {
	if d.Lang == langEN && t.EN != "" || t.ZH == "" {
		return t.EN
	}
	return t.ZH
}

// TOther translates a message key into the other language: the poster
// speaks to every visitor, in both.
func (d *pageData) TOther(key string) string { return translate(d.OtherLang(), key) }

// TfOther formats a message key in the other language.
func (d *pageData) TfOther(key string, args ...any) string {
	return fmt.Sprintf(d.TOther(key), args...)
}

// HTMLLang is the lang attribute of the page.
func (d *pageData) HTMLLang() string {
	if d.Lang == langEN {
		return "en"
	}
	return "zh-CN"
}

// OtherLang is the language the switch link leads to.
func (d *pageData) OtherLang() string {
	if d.Lang == langEN {
		return langZH
	}
	return langEN
}

// OtherHTMLLang is the lang attribute of the switch link's text.
func (d *pageData) OtherHTMLLang() string {
	if d.Lang == langEN {
		return "zh-CN"
	}
	return "en"
}

// SwitchURL is the page's path in the other language.
func (d *pageData) SwitchURL() string {
	return d.Path + "?lang=" + url.QueryEscape(d.OtherLang())
}

// Time formats a time.Time or *time.Time in Beijing time, to the minute.
func (d *pageData) Time(v any) string { return formatTime(v, "2006-01-02 15:04") }

// Clock formats a time to the second.
func (d *pageData) Clock(v any) string { return formatTime(v, "2006-01-02 15:04:05") }

// ISO formats a time for a datetime attribute.
func (d *pageData) ISO(v any) string { return formatTime(v, time.RFC3339) }

func formatTime(v any, layout string) string {
	switch t := v.(type) {
	case time.Time:
		return t.In(displayZone).Format(layout)
	case *time.Time:
		if t != nil {
			return t.In(displayZone).Format(layout)
		}
	}
	return ""
}

// Region names a GB/T 2260 region code with its province.
func (d *pageData) Region(code string) string {
	if len(code) >= 2 {
		if _, ok := messages["province."+code[:2]]; ok {
			return code + " " + d.T("province."+code[:2])
		}
	}
	return code + " (" + d.T("code.region.unknown") + ")"
}

// Evidence describes one record in words: kind, result, time, submitter.
func (d *pageData) Evidence(e EvidenceOutJSON) string {
	parts := []string{d.T("kind." + e.Kind)}
	if e.Result != "" {
		parts = append(parts, d.T("result."+e.Result))
	}
	if e.Pooled {
		parts = append(parts, d.T("evidence.pooled"))
	}
	if e.Diagnosis != "" {
		parts = append(parts, d.T("diagnosis."+e.Diagnosis))
	}
	if e.RiskLevel != "" {
		parts = append(parts, d.T("risk."+e.RiskLevel))
	}
	if e.CaseRef != "" {
		parts = append(parts, d.T("evidence.case")+" "+e.CaseRef)
	}
	parts = append(parts, d.Time(e.ObservedAt), d.T("evidence.by")+" "+e.SubmitterName)
	return strings.Join(parts, " · ")
}

// QRLabel is the accessible name of the QR image.
func (d *pageData) QRLabel() string {
	if d.Code == nil {
		return ""
	}
	return d.Tf("code.qr.label", d.Code.MaskedName, d.T("colour."+d.Code.Decision.Colour))
}

// actorText says who made a decision: the rules, or the named official.
func (d *pageData) actorText(actor string) string {
	if v, ok := strings.CutPrefix(actor, "rules:"); ok {
		return d.Tf("actor.rules", v)
	}
	return actor
}

// historyRows describes the citizen's past decisions, newest first, each
// with who made it and who submitted the records it rests on.
func (d *pageData) historyRows(c *MyCodeJSON) []historyRow {
	names := map[int64]string{}
	for _, e := range c.Evidence {
		names[e.ID] = e.SubmitterName
	}
	rows := make([]historyRow, 0, len(c.History))
	for _, h := range c.History {
		var subs []string
		seen := map[string]bool{}
		for _, id := range h.EvidenceIDs {
			s, ok := names[id]
			if !ok {
				// The record is not among the current decision's: the
				// answer names only those submitters.
				s = d.Tf("history.record", id)
			}
			if !seen[s] {
				seen[s] = true
				subs = append(subs, s)
			}
		}
		rows = append(rows, historyRow{When: d.Time(h.DecidedAt), Colour: h.Colour, Shape: h.Shape,
			Reason: d.Text(h.Text), Actor: d.actorText(h.Actor), Submitters: strings.Join(subs, "、"), LogIndex: h.LogIndex})
	}
	return rows
}

// accessRows describes the reads of a person's data, newest first.
func (d *pageData) accessRows(rs []healthcode.AccessRecord) []accessRow {
	rows := make([]accessRow, 0, len(rs))
	for _, a := range rs {
		purpose := a.Purpose
		if _, ok := messages["purpose."+purpose]; ok {
			purpose = d.T("purpose." + purpose)
		}
		role := string(a.Actor.Role)
		if _, ok := messages["role."+role]; ok {
			role = d.T("role." + role)
		}
		rows = append(rows, accessRow{When: d.Time(a.Time), ISO: d.ISO(a.Time), Who: a.Actor.Name, Role: role, Unit: a.Actor.Unit,
			Purpose: purpose, Case: a.CaseRef, What: a.What})
	}
	return rows
}

// jsMessages are the strings the verifier's script shows, in lang.
func jsMessages(lang string) map[string]string {
	out := jsMessagesFor(lang, jsPrefixes...)
	for _, l := range []string{langZH, langEN} {
		for k, v := range jsMessagesFor(l, bothPrefixes...) {
			out[l+":"+k] = v
		}
	}
	return out
}

// jsMessagesFor are the messages whose keys start with one of prefixes, in
// lang: what a page's script may show.
func jsMessagesFor(lang string, prefixes ...string) map[string]string {
	out := map[string]string{}
	for k := range messages {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				out[k] = translate(lang, k)
			}
		}
	}
	return out
}

// newPage starts a page's data in the request's language; a language
// chosen with the lang parameter is remembered in a cookie.
func newPage(w http.ResponseWriter, r *http.Request, title string) *pageData {
	lang, fromParam := negotiateLang(r)
	if fromParam {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	return &pageData{Lang: lang, Title: title, Path: r.URL.Path}
}

// pageCSP allows nothing from another host, no inline script and no inline
// style; data: images only for the empty favicon.
const pageCSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) render(w http.ResponseWriter, status int, name string, d *pageData) error {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, d); err != nil {
		return fmt.Errorf("http.render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", d.HTMLLang())
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	h.Add("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// pageRoutes are the server-rendered pages and their assets. Page handlers
// answer their errors with an HTML page (htmlErrors).
func (s *Server) pageRoutes() []route {
	return append([]route{
		// The citizen page reads the session cookie itself (Page is false):
		// a stale cookie must lead to the login form, not to an error.
		{Method: "GET", Path: "/{$}", h: s.htmlErrors(s.citizenPage)},
		// Logging in and out need no session: a stale cookie must not
		// block either.
		{Method: "POST", Path: "/login", h: s.htmlErrors(s.login)},
		{Method: "POST", Path: "/logout", h: s.htmlErrors(s.logout)},
		{Method: "GET", Path: "/verify", h: s.htmlErrors(s.verifyPage)},
		// The check-in page and the venue pages, like the citizen page,
		// read the session cookie themselves and show the login form to
		// whoever is not the right caller.
		{Method: "GET", Path: "/c", h: s.htmlErrors(s.checkInPage)},
		{Method: "GET", Path: "/venue", h: s.htmlErrors(s.venueHome)},
		{Method: "GET", Path: "/venue/{id}", h: s.htmlErrors(s.posterPage)},
		{Method: "GET", Path: "/venue/{id}/print", h: s.htmlErrors(s.printPage)},
		{Method: "GET", Path: "/static/{file}", h: serveStatic},
	}, s.consoleRoutes()...)
}

// htmlErrors answers a page handler's error with the error page.
func (s *Server) htmlErrors(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
		err := h(w, r, p)
		if err == nil {
			return nil
		}
		if healthcode.ErrorCode(err) == healthcode.EINTERNAL {
			s.Logger.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if rerr := s.renderError(w, r, err); rerr != nil {
			return err
		}
		return nil
	}
}

// pageProblem answers err with an HTML error page when the request comes
// from a browser navigating to a page (it accepts text/html and is not for
// the API, the log or the probes), and reports whether it did. problem()
// in http.go can call it first, so that a 404 or a 401 met before any page
// handler runs (no route; a session cookie that no longer authenticates)
// reaches a person as a page in their language, not as JSON.
func (s *Server) pageProblem(w http.ResponseWriter, r *http.Request, err error) bool {
	if !wantsHTML(r) {
		return false
	}
	return s.renderError(w, r, err) == nil
}

func wantsHTML(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		return false
	}
	for _, p := range []string{"/api/", "/log/", "/static/", "/healthz", "/metrics"} {
		if strings.HasPrefix(r.URL.Path, p) {
			return false
		}
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// renderError writes the error page of err. A 401 is the login form (and
// clears a session cookie that no longer authenticates).
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) error {
	err = bodyTooLarge(err)
	code := healthcode.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusUnauthorized {
		if _, cerr := r.Cookie(sessionCookie); cerr == nil {
			clearSession(w, r)
		}
		d := newPage(w, r, "login.title")
		d.Path = "/"
		d.Notice = "login.session_ended"
		return s.render(w, status, "login.html", d)
	}
	if status == http.StatusServiceUnavailable && code != healthcode.ETAMPERED {
		w.Header().Set("Retry-After", "5")
	}
	if d := healthcode.ErrorRetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
	d := newPage(w, r, "error.title."+strconv.Itoa(status))
	d.Status, d.ErrorCode = status, healthcode.ErrorDetail(err)
	if d.ErrorCode == "" {
		d.ErrorCode = code
	}
	if _, known := messages[d.Title]; !known {
		d.Title, d.Status = "error.title.500", http.StatusInternalServerError
	}
	if code == healthcode.ETAMPERED {
		// Say why no code is shown, and what to do: not "try again shortly".
		d.Title, d.ErrorBody = "error.title.tampered", "error.body.tampered"
	}
	return s.render(w, status, "error.html", d)
}

// sessionPrincipal authenticates the session cookie, if any. stale reports
// a cookie that no longer authenticates.
func (s *Server) sessionPrincipal(r *http.Request) (*healthcode.Principal, bool) {
	if c, err := r.Cookie(sessionCookie); err != nil || c.Value == "" {
		return nil, false
	}
	// A cookie is a credential too: guesses count against the address,
	// and an address that failed too often gets no answer to its next.
	if s.checkLogin(r) != nil {
		return nil, true
	}
	p, err := s.cookieCaller(r)
	if err != nil {
		if healthcode.ErrorCode(err) == healthcode.EUNAUTHORIZED {
			s.loginFailed(r)
		}
		return nil, true
	}
	return p, false
}

// pageCaller is the caller of a page: the bearer token's principal, else
// the session cookie's. A cookie that no longer authenticates is cleared
// and reported as stale.
func (s *Server) pageCaller(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) (*healthcode.Principal, bool) {
	if p != nil {
		return p, false
	}
	p, stale := s.sessionPrincipal(r)
	if stale {
		clearSession(w, r)
	}
	return p, stale
}

// loginForm shows the login form on a page that needs another caller;
// next is where it leads back to, notice why it is shown. A stale session
// says so (401); otherwise the form is the page (200).
func (s *Server) loginForm(w http.ResponseWriter, d *pageData, stale bool, next, notice string) error {
	d.Title, d.Next, d.Notice = "login.title", next, notice
	status := http.StatusOK
	if stale {
		d.Notice, status = "login.session_ended", http.StatusUnauthorized
	}
	return s.render(w, status, "login.html", d)
}

// citizenPage shows the logged-in citizen's code, or the login form. A
// venue's session goes to the venue's pages.
func (s *Server) citizenPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "citizen.title")
	p, stale := s.pageCaller(w, r, p)
	if p != nil && p.Role == healthcode.RoleVenue {
		http.Redirect(w, r, "/venue", http.StatusSeeOther)
		return nil
	}
	if p != nil && consoleRole(p.Role) {
		http.Redirect(w, r, "/console", http.StatusSeeOther)
		return nil
	}
	if p == nil || p.Role != healthcode.RoleCitizen {
		return s.loginForm(w, d, stale, "", "")
	}
	cc, err := s.myCodeCached(r, p.Subject)
	if err != nil {
		return err
	}
	svg, err := s.Signer.SVG(cc.qr)
	if err != nil {
		return err
	}
	code := cc.code
	d.Code, d.Now = &code, s.Clock.Now()
	d.QRSVG = template.HTML(labelSVG(svg, d.QRLabel()))
	d.QRSeconds = max(int64(code.QRExpires.Sub(d.Now)/time.Second), 0)
	d.History = d.historyRows(&code)
	if s.Venues != nil {
		// GET /api/v1/me/access takes a bearer token only: the page reads
		// the same records itself.
		rs, err := s.Venues.AccessRecords(r.Context(), p)
		if err != nil {
			return err
		}
		if len(rs) > maxAccessShown {
			rs, d.AccessMore = rs[:maxAccessShown], maxAccessShown
		}
		d.Access = d.accessRows(rs)
	}
	d.Scripts = []string{"/static/clock.js"}
	return s.render(w, http.StatusOK, "citizen.html", d)
}

// maxAccessShown bounds the reads of a person's data the citizen page lists.
const maxAccessShown = 50

// labelSVG gives the QR image its accessible name in the page's language.
func labelSVG(svg []byte, label string) string {
	return strings.Replace(string(svg), `role="img"`, `role="img" aria-label="`+template.HTMLEscapeString(label)+`"`, 1)
}

// login checks the token of the login form and starts a session. The
// form's origin and type are checked for every route (serve); an address
// that failed too often is refused before its token is looked at, and
// every bad token counts against it.
func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	if err := s.checkLogin(r); err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	next := safeNext(r.PostForm.Get("next"))
	p, err := s.Auth.Authenticate(r.Context(), tok)
	if healthcode.ErrorCode(err) == healthcode.EUNAUTHORIZED {
		s.loginFailed(r)
	}
	if err != nil || p.Role != healthcode.RoleCitizen && p.Role != healthcode.RoleVenue && !consoleRole(p.Role) {
		d := newPage(w, r, "login.title")
		d.Path, d.Error, d.Next = "/", "login.bad", next
		return s.render(w, http.StatusUnauthorized, "login.html", d)
	}
	if err := s.startSession(w, r, tok); err != nil {
		return err
	}
	if next == "" {
		next = "/"
		if p.Role == healthcode.RoleVenue {
			next = "/venue"
		} else if consoleRole(p.Role) {
			next = "/console"
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// venueIDPattern is what a venue id may look like in a path.
var venueIDPattern = regexp.MustCompile(`^[a-z0-9]{1,64}$`)

// safeNext returns where a login may lead back to: one of the pages, never
// another site; "" for anything else.
func safeNext(next string) string {
	switch next {
	case "/", "/c", "/venue", "/console":
		return next
	}
	if id, ok := strings.CutPrefix(next, "/venue/"); ok {
		id = strings.TrimSuffix(id, "/print")
		if venueIDPattern.MatchString(id) {
			return next
		}
	}
	return ""
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	s.endSession(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// verifyPage is the checkpoint verifier: public, and usable offline once
// loaded (static/sw.js keeps it, static/verify.js keeps the trust list).
func (s *Server) verifyPage(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	d := newPage(w, r, "verify.title")
	d.JS = jsMessages(d.Lang)
	d.Scripts = []string{"/static/jsQR.js", "/static/verify.js"}
	return s.render(w, http.StatusOK, "verify.html", d)
}

// checkInPage is the page a scanned venue code opens (/c#<code>; the code
// stays in the fragment, so it never reaches a server log): its script
// reads the code and posts the check-in with the session cookie, then
// shows the citizen's colour for the door keeper. Opened without a code
// it scans one (camera, photo or text). Anyone but a citizen gets the
// login form, whose script keeps the code until the citizen is back.
func (s *Server) checkInPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "checkin.title")
	d.Scripts = []string{"/static/checkin.js"}
	p, stale := s.pageCaller(w, r, p)
	if p == nil || p.Role != healthcode.RoleCitizen {
		return s.loginForm(w, d, stale, "/c", "login.for_checkin")
	}
	d.Now = s.Clock.Now()
	d.JS = jsMessagesFor(d.Lang, checkInPrefixes...)
	d.Scripts = []string{"/static/clock.js", "/static/checkin.js"}
	return s.render(w, http.StatusOK, "checkin.html", d)
}

// venueHome is where a venue owner lands: a form that opens a poster by
// the venue's id.
func (s *Server) venueHome(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "venue.home.title")
	p, stale := s.pageCaller(w, r, p)
	if p == nil || p.Role != healthcode.RoleVenue {
		return s.loginForm(w, d, stale, "/venue", "login.for_venue")
	}
	if q := r.URL.Query(); q.Has("id") {
		id := strings.ToLower(strings.TrimSpace(q.Get("id")))
		if venueIDPattern.MatchString(id) {
			http.Redirect(w, r, "/venue/"+id, http.StatusSeeOther)
			return nil
		}
		d.Error = "venue.home.bad_id"
	}
	d.Owner = p.Name
	return s.render(w, http.StatusOK, "venue.html", d)
}

// posterVenue authenticates a venue page's caller and returns the venue
// with its codes, or has shown the login form (done).
func (s *Server) posterVenue(w http.ResponseWriter, r *http.Request, p *healthcode.Principal, d *pageData) (v *healthcode.Venue, live, static string, done bool, err error) {
	id := r.PathValue("id")
	p, stale := s.pageCaller(w, r, p)
	if p == nil || p.Role != healthcode.RoleVenue {
		next := ""
		if venueIDPattern.MatchString(id) {
			next = r.URL.Path
		}
		return nil, "", "", true, s.loginForm(w, d, stale, next, "login.for_venue")
	}
	if s.Venues == nil {
		return nil, "", "", false, healthcode.Errorfd(healthcode.EUNAVAILABLE, "venue.none", "this node serves no venues")
	}
	// Only the venue's owner gets its codes: anyone else is told there is
	// no such venue.
	v, live, static, err = s.Venues.VenueCodes(r.Context(), p, id)
	return v, live, static, false, err
}

// posterPage is the venue's poster: its live code, redrawn every slot by
// static/poster.js from GET /api/v1/venues/{id}/code, full screen, for
// hours on a cheap tablet.
func (s *Server) posterPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "poster.title")
	v, live, _, done, err := s.posterVenue(w, r, p, d)
	if done || err != nil {
		return err
	}
	now := s.Clock.Now()
	vj := venueJSON(v)
	d.Venue, d.BodyClass = &vj, "poster"
	d.Poster = &posterData{Venue: v.ID, Live: live, Now: now,
		RefreshAt: time.Unix((healthcode.SlotOf(now)+1)*int64(healthcode.VenueSlot/time.Second), 0).UTC()}
	d.JS = jsMessagesFor(d.Lang, posterPrefixes...)
	d.Scripts = []string{"/static/qrcode.js", "/static/poster.js"}
	return s.render(w, http.StatusOK, "poster.html", d)
}

// printPage is the venue's static code, to print for a place with no
// screen: drawn here, marked as proving nothing about presence.
func (s *Server) printPage(w http.ResponseWriter, r *http.Request, p *healthcode.Principal) error {
	d := newPage(w, r, "print.title")
	v, _, static, done, err := s.posterVenue(w, r, p, d)
	if done || err != nil {
		return err
	}
	svg, err := s.Signer.SVG(checkInURL(r, static))
	if err != nil {
		return err
	}
	vj := venueJSON(v)
	d.Venue, d.BodyClass = &vj, "print"
	d.StaticSVG = template.HTML(labelSVG(svg, d.Tf("print.qr.label", v.Name)))
	d.Scripts = []string{"/static/print.js"}
	return s.render(w, http.StatusOK, "print.html", d)
}

// checkInURL is what a venue code's QR holds: this node's check-in page,
// with the code in the fragment. The node is the one the request was
// sent to.
func checkInURL(r *http.Request, code string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/c#" + code
}

// staticTypes are the content types of the embedded assets.
var staticTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".txt": "text/plain; charset=utf-8",
	".svg": "image/svg+xml",
}

// gzipped holds the compressed assets, made on first request.
var gzipped sync.Map // name → []byte

func serveStatic(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	name := path.Clean(r.PathValue("file"))
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "http.no_asset", "no asset %q", name)
	}
	h := w.Header()
	if ct, ok := staticTypes[path.Ext(name)]; ok {
		h.Set("Content-Type", ct)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=3600")
	if name == "sw.js" {
		// The service worker controls /verify, above its own directory,
		// and must be rechecked on every load to pick up a new version.
		h.Set("Service-Worker-Allowed", "/")
		h.Set("Cache-Control", "no-cache")
	}
	h.Add("Vary", "Accept-Encoding")
	if len(b) > 1024 && acceptsGzip(r) {
		z, err := gzipAsset(name, b)
		if err != nil {
			return err
		}
		h.Set("Content-Encoding", "gzip")
		b = z
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(b)
	return err
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(enc, "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func gzipAsset(name string, b []byte) ([]byte, error) {
	if z, ok := gzipped.Load(name); ok {
		return z.([]byte), nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("http.gzipAsset: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("http.gzipAsset: %w", err)
	}
	z, _ := gzipped.LoadOrStore(name, buf.Bytes())
	return z.([]byte), nil
}

// messageKeys lists the table's keys in order, for tests.
func messageKeys() []string {
	keys := make([]string, 0, len(messages))
	for k := range messages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
