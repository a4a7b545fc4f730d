package v1alpha1

import (
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IdentitySpec is how a tenant's people sign in.
type IdentitySpec struct {
	// OIDC accepts the JWT bearer tokens of the tenant's OpenID Connect
	// issuer (single sign-on). Every token of the issuer signs in to this
	// tenant; one whose tenant claim names another tenant is refused.
	// +optional
	OIDC *OIDCSpec `json:"oidc,omitempty"`
}

// OIDCSpec is an OpenID Connect issuer whose tokens kubedesk accepts.
type OIDCSpec struct {
	// IssuerURL is the issuer as its tokens' iss claim names it; its
	// discovery document is at IssuerURL/.well-known/openid-configuration.
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^https://[^?#\s]+$`
	IssuerURL string `json:"issuerURL"`

	// Audience must be in a token's aud claim: kubedesk's client ID at the
	// issuer.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Audience string `json:"audience"`

	// TenantClaim, when a token carries it, must name this tenant.
	// +kubebuilder:default=kubedesk_tenant
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^\S+$`
	// +optional
	TenantClaim string `json:"tenantClaim,omitempty"`

	// RolesClaim holds the user's roles: a list of role names (admin,
	// supervisor, agent, integration) or a space-separated string.
	// +kubebuilder:default=kubedesk_roles
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^\S+$`
	// +optional
	RolesClaim string `json:"rolesClaim,omitempty"`

	// GroupsClaim holds the user's groups, in the same two forms.
	// +kubebuilder:default=groups
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^\S+$`
	// +optional
	GroupsClaim string `json:"groupsClaim,omitempty"`
}

// HelpdeskTenantSpec is one tenant's help desk: the image it runs, where
// it keeps its data and durable timers, which components run with how many
// replicas, and how it is reached from outside the cluster.
//
// The embedded engines are single-process: they run inside the pods and
// cannot be shared by replicas, so a tenant that scales out uses PostgreSQL
// and an external Temporal cluster.
//
// +kubebuilder:validation:XValidation:rule="!has(self.database.embedded) || !has(self.components) || ((!has(self.components.gateway) || !has(self.components.gateway.replicas) || self.components.gateway.replicas <= 1) && (!has(self.components.ticket) || !has(self.components.ticket.replicas) || self.components.ticket.replicas <= 1) && (!has(self.components.channel) || !has(self.components.channel.replicas) || self.components.channel.replicas <= 1) && (!has(self.components.routing) || !has(self.components.routing.replicas) || self.components.routing.replicas <= 1) && (!has(self.components.knowledge) || !has(self.components.knowledge.replicas) || self.components.knowledge.replicas <= 1) && (!has(self.components.survey) || !has(self.components.survey.replicas) || self.components.survey.replicas <= 1) && (!has(self.components.reporting) || !has(self.components.reporting.replicas) || self.components.reporting.replicas <= 1) && (!has(self.components.worker) || !has(self.components.worker.replicas) || self.components.worker.replicas <= 1))",message="database.embedded needs every component at replicas <= 1; use database.postgres to scale out",fieldPath=".database.embedded",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.temporal.embedded) || !has(self.components) || ((!has(self.components.gateway) || !has(self.components.gateway.replicas) || self.components.gateway.replicas <= 1) && (!has(self.components.ticket) || !has(self.components.ticket.replicas) || self.components.ticket.replicas <= 1) && (!has(self.components.channel) || !has(self.components.channel.replicas) || self.components.channel.replicas <= 1) && (!has(self.components.routing) || !has(self.components.routing.replicas) || self.components.routing.replicas <= 1) && (!has(self.components.knowledge) || !has(self.components.knowledge.replicas) || self.components.knowledge.replicas <= 1) && (!has(self.components.survey) || !has(self.components.survey.replicas) || self.components.survey.replicas <= 1) && (!has(self.components.reporting) || !has(self.components.reporting.replicas) || self.components.reporting.replicas <= 1) && (!has(self.components.worker) || !has(self.components.worker.replicas) || self.components.worker.replicas <= 1))",message="temporal.embedded needs every component at replicas <= 1; use temporal.address to scale out",fieldPath=".temporal.embedded",reason=FieldValueForbidden
type HelpdeskTenantSpec struct {
	// Image is the kubedesk container image every component runs (one
	// binary; each Deployment selects its component with --target).
	// +kubebuilder:default="kubedesk:dev"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Image string `json:"image,omitempty"`

	// ImagePullPolicy is the pull policy of the tenant's containers.
	// +kubebuilder:default=IfNotPresent
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	// +optional
	ImagePullPolicy string `json:"imagePullPolicy,omitempty"`

	// DisplayName is the help desk's name as agents and customers see it,
	// in any script, e.g. 极客科技客服中心: the name of the e-mail sender
	// when spec.channels.email.from gives none, and {{.Tenant}} in mail
	// templates.
	// +kubebuilder:validation:MaxLength=200
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// Locale is the default language and region of what the tenant's
	// customers read, as a BCP 47 tag: language, optional script, optional
	// region, e.g. en-US, zh-CN, zh-Hans-CN. E-mail is written in it when
	// nothing closer to the customer says otherwise (the contact's locale,
	// spec.channels.email.defaultLocale, the script of their text).
	// +kubebuilder:default="en-US"
	// +kubebuilder:validation:MaxLength=35
	// +kubebuilder:validation:Pattern=`^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$`
	// +optional
	Locale string `json:"locale,omitempty"`

	// TimeZone is the IANA time zone name (e.g. Asia/Shanghai) the tenant's
	// reports and dates are shown in. Reserved: validated and carried into
	// the tenant's configuration; no report exists yet. The SLA clocks
	// count on calendar, not on this.
	// +kubebuilder:default=UTC
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$`
	// +optional
	TimeZone string `json:"timeZone,omitempty"`

	// Calendar is the tenant's default business calendar: the SLA policies
	// of the tenant that give no calendar of their own count on it. Its
	// timeZone defaults to UTC, not to spec.timeZone; give it explicitly.
	// +optional
	Calendar *BusinessCalendar `json:"calendar,omitempty"`

	// Identity is how the tenant's people sign in besides passwords and
	// API keys. The first admin API key is in the Secret
	// status.adminKeySecret names.
	// +optional
	Identity *IdentitySpec `json:"identity,omitempty"`

	// Database is where the tenant's services keep their data: exactly one
	// of postgres or embedded.
	Database DatabaseSpec `json:"database"`

	// Temporal is the Temporal server the SLA clocks run on: exactly one of
	// address or embedded.
	Temporal TemporalSpec `json:"temporal"`

	// Channels configures the ways customers reach the tenant.
	// +optional
	Channels ChannelsSpec `json:"channels,omitempty"`

	// Attachments says where the ticket component keeps the bytes of
	// attachments, inline images and raw e-mails: exactly one of s3 or
	// volume. Unset: in the ticket pods' data directory, which with
	// database.postgres is an emptyDir, lost with the pod and not shared
	// by replicas (the tenant's AttachmentsShared condition says so).
	// +optional
	Attachments *AttachmentsSpec `json:"attachments,omitempty"`

	// Components says which components run and how. gateway, ticket,
	// channel, routing and worker run unless disabled; knowledge, survey
	// and reporting are not available in this release and must stay
	// disabled.
	// +optional
	Components ComponentsSpec `json:"components,omitempty"`

	// Routing tunes the routing component (who works on what); its rules
	// are the tenant's RoutingRules.
	// +optional
	Routing *RoutingSpec `json:"routing,omitempty"`

	// Ingress exposes the gateway (REST and OpenAPI) on a host name;
	// without it the gateway is reachable only inside the cluster.
	// +optional
	Ingress *IngressSpec `json:"ingress,omitempty"`
}

// DefaultRoutingOfflineGrace is spec.routing.offlineGrace when unset.
const DefaultRoutingOfflineGrace = 10 * time.Minute

// RoutingSpec tunes a tenant's routing component. The operator renders
// it into the routing section of the tenant's KubedeskConfig document
// (routing.offlineGrace), where `kubedesk serve --config` reads it; the
// binary ignores it in a HelpdeskTenant document, as it ignores
// components.
type RoutingSpec struct {
	// OfflineGrace is how long the tickets an agent has not answered yet
	// stay theirs after they go offline, before they return to their
	// group's queue (answered ones stay): a Go duration from 0s (at once)
	// to 24h. Unset: 10m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || duration(self) <= duration('24h')",message="offlineGrace must be from 0s to 24h"
	// +optional
	OfflineGrace *metav1.Duration `json:"offlineGrace,omitempty"`
}

// ChannelsSpec configures the ways customers reach the tenant.
type ChannelsSpec struct {
	// Email is the e-mail channel: the addresses that receive mail and how
	// replies go out.
	// +optional
	Email EmailChannelSpec `json:"email,omitempty"`

	// WeChat is the tenant's WeChat Official Account (微信公众号): its
	// callback URL is /channels/wechat/<tenant> on the gateway, its
	// users' messages become tickets and comments on channel wechat, and
	// agents' public replies go back through the customer-service message
	// API.
	// +optional
	WeChat *WeChatChannelSpec `json:"wechat,omitempty"`

	// Webhooks configures the tenant's outgoing webhooks (POST
	// /v1/webhooks, docs/webhooks.md).
	// +optional
	Webhooks *WebhooksChannelSpec `json:"webhooks,omitempty"`

	// Chat is the live web chat: the widget the gateway serves at
	// /widget.js (embedded with data-tenant set to the tenant's name)
	// opens chats that are tickets on channel chat. It is on for every
	// tenant; this says who is offered its chats and how long a visitor
	// waits for them (unset: no group, 2m).
	// +optional
	Chat *ChatChannelSpec `json:"chat,omitempty"`
}

// WebhooksChannelSpec configures a tenant's outgoing webhooks.
type WebhooksChannelSpec struct {
	// AllowPrivateNetworks lets the tenant's webhooks target loopback,
	// link-local, private (RFC 1918, fc00::/7) and carrier-grade NAT
	// (100.64.0.0/10) addresses: receivers inside the cluster or the
	// company's network. Cloud metadata, multicast, unspecified and
	// reserved addresses stay refused. Default: false, public addresses
	// only.
	// +optional
	AllowPrivateNetworks bool `json:"allowPrivateNetworks,omitempty"`
}

// DefaultChatOfferWait is spec.channels.chat.offerWait when unset.
const DefaultChatOfferWait = 2 * time.Minute

// ChatChannelSpec is how the tenant's web chats reach agents.
type ChatChannelSpec struct {
	// Group whose agents new chats are offered to while they are online
	// (and the tickets' group). Empty: no group; the admins and
	// supervisors online are offered them.
	// +kubebuilder:validation:MaxLength=200
	// +optional
	Group string `json:"group,omitempty"`

	// OfferWait is how long a new chat waits for an agent of its group to
	// be online before the visitor is asked for an e-mail address, to be
	// answered by e-mail: a Go duration from 5s to 24h. Unset: 2m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) >= duration('5s') && duration(self) <= duration('24h'))",message="offerWait must be from 5s to 24h"
	// +optional
	OfferWait *metav1.Duration `json:"offerWait,omitempty"`
}

// The modes of spec.channels.wechat.mode (消息加解密方式).
const (
	WeChatModePlain      = "plain"      // 明文模式
	WeChatModeCompatible = "compatible" // 兼容模式
	WeChatModeSafe       = "safe"       // 安全模式
)

// DefaultWeChatAPIBaseURL is spec.channels.wechat.apiBaseURL when unset.
const DefaultWeChatAPIBaseURL = "https://api.weixin.qq.com"

// The patterns of spec.channels.wechat. WeChatAppIDPattern is the CRD
// schema's for appID (TestWeChatPatternsMatchSchema compares them); the
// token and the key are secrets, which the schema never sees: the
// operator checks the Secret keys it gives the channel's pods against
// WeChatTokenPattern and WeChatAESKeyPattern, and the binary the values
// it reads.
const (
	WeChatAppIDPattern  = `^wx[0-9a-f]{16}$`
	WeChatTokenPattern  = `^[A-Za-z0-9]{3,32}$`
	WeChatAESKeyPattern = `^[A-Za-z0-9]{43}$`
)

// WeChatChannelSpec is a tenant's WeChat Official Account, as set up
// under 设置与开发 > 基本配置 of the account's console (or a test
// account's page).
//
// In a cluster its secrets are secretKeyRefs only: the operator gives
// the channel's pods the Secret keys as environment variables, but cannot
// give them a variable of the author's own (env), and a value would be
// copied into the tenant's ConfigMap. The rules saying so are the CRD's
// alone: `kubedesk serve --config` reads this type without them, and
// there env and value are what a laptop uses.
//
// +kubebuilder:validation:XValidation:rule="self.mode == 'plain' || has(self.encodingAESKey)",message="encodingAESKey is required in compatible and safe mode (safe is the default); set it, or set mode: plain"
// +kubebuilder:validation:XValidation:rule="!has(self.appSecret.value)",message="a secret value in the HelpdeskTenant would be copied into a ConfigMap; in a cluster give secretKeyRef (value is for a --config file)",fieldPath=".appSecret.value",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.appSecret.env)",message="the operator cannot give the channel's pods a variable of your own; in a cluster give secretKeyRef (env is for a --config file)",fieldPath=".appSecret.env",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.token.value)",message="a secret value in the HelpdeskTenant would be copied into a ConfigMap; in a cluster give secretKeyRef (value is for a --config file)",fieldPath=".token.value",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.token.env)",message="the operator cannot give the channel's pods a variable of your own; in a cluster give secretKeyRef (env is for a --config file)",fieldPath=".token.env",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.encodingAESKey) || !has(self.encodingAESKey.value)",message="a secret value in the HelpdeskTenant would be copied into a ConfigMap; in a cluster give secretKeyRef (value is for a --config file)",fieldPath=".encodingAESKey.value",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.encodingAESKey) || !has(self.encodingAESKey.env)",message="the operator cannot give the channel's pods a variable of your own; in a cluster give secretKeyRef (env is for a --config file)",fieldPath=".encodingAESKey.env",reason=FieldValueForbidden
type WeChatChannelSpec struct {
	// AppID is the account's AppID (开发者ID), e.g. wx1234567890abcdef.
	// +kubebuilder:validation:Pattern=`^wx[0-9a-f]{16}$`
	AppID string `json:"appID"`

	// AppSecret is the account's AppSecret (开发者密码), with which the
	// channel gets access tokens. In a cluster a secretKeyRef, which the
	// operator gives the channel's pods as KUBEDESK_WECHAT_APP_SECRET
	// (restarting them when the key changes).
	AppSecret SecretSource `json:"appSecret"`

	// Token is the callback's token (令牌): 3 to 32 letters and digits,
	// the same as in the account's console. WeChat signs every callback
	// with it. In a cluster a secretKeyRef, given to the channel's pods
	// as KUBEDESK_WECHAT_TOKEN.
	Token SecretSource `json:"token"`

	// EncodingAESKey is the message encryption key (消息加解密密钥): 43
	// letters and digits. Required in compatible and safe mode. In a
	// cluster a secretKeyRef, given to the channel's pods as
	// KUBEDESK_WECHAT_ENCODING_AES_KEY.
	// +optional
	EncodingAESKey *SecretSource `json:"encodingAESKey,omitempty"`

	// Mode is the message encryption mode set in the console: plain
	// (明文), compatible (兼容: plain and encrypted side by side) or safe
	// (安全: encrypted only). Test accounts offer only plain.
	// +kubebuilder:validation:Enum=plain;compatible;safe
	// +kubebuilder:default=safe
	// +optional
	Mode string `json:"mode,omitempty"`

	// APIBaseURL is where WeChat's API is reached: its https scheme and
	// host, with an optional path prefix. Unset: https://api.weixin.qq.com.
	// Tests point it at a local server.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s/?#]+(/[^\s?#]*)?$`
	// +optional
	APIBaseURL string `json:"apiBaseURL,omitempty"`

	// Group the account's tickets go to. Empty: no group.
	// +kubebuilder:validation:MaxLength=200
	// +optional
	Group string `json:"group,omitempty"`
}

// SecretSource is where a secret comes from: in a cluster, a key of a
// Secret in the tenant's namespace (the operator gives it to the pods
// that need it, never in the configuration); in a --config file, the
// value itself or the name of an environment variable holding it.
// Exactly one is set.
// +kubebuilder:validation:XValidation:rule="[has(self.secretKeyRef), has(self.env), has(self.value)].filter(x, x).size() == 1",message="set exactly one of secretKeyRef (in a cluster), env or value (in a --config file)"
type SecretSource struct {
	// SecretKeyRef names the Secret key holding it.
	// +optional
	SecretKeyRef *SecretKeySelector `json:"secretKeyRef,omitempty"`

	// Env names the environment variable holding it (a --config file).
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Env string `json:"env,omitempty"`

	// Value is the secret itself (a --config file).
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Value string `json:"value,omitempty"`
}

// EmailChannelSpec is the e-mail channel of a tenant: the channel
// component's SMTP listener (port 2525, the Service's port 25) turns mail
// to an inbound address into tickets and comments, and its replies and
// acknowledgements go out through the relay.
type EmailChannelSpec struct {
	// Inbound lists the addresses whose mail becomes tickets, each routed
	// to a group; an address appears once.
	// +listType=map
	// +listMapKey=address
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Inbound []EmailInbound `json:"inbound,omitempty"`

	// From is the sender of replies and acknowledgements in RFC 5322 form,
	// e.g. `Acme Support <support@acme.example>` or support@acme.example.
	// Unset: the first inbound address, with the tenant's displayName as
	// the name.
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.matches('^[^\\r\\n]*$')",message="from must be one line, e.g. Acme Support <support@acme.example>"
	// +optional
	From string `json:"from,omitempty"`

	// RelaySecretRef names the Secret key holding the URL of the SMTP
	// relay the channel component sends through:
	// smtp://user:password@host:587?tls=starttls, or smtps://... for
	// implicit TLS. The operator gives it to the channel's pods as
	// KUBEDESK_SMTP_RELAY, and restarts them when it changes. Unset:
	// replies are not sent, and each ticket shows why.
	// +optional
	RelaySecretRef *SecretKeySelector `json:"relaySecretRef,omitempty"`

	// AutoAcknowledge sends the requester of every new ticket that came
	// by e-mail an acknowledgement with the ticket number.
	// +kubebuilder:default=true
	// +optional
	AutoAcknowledge *bool `json:"autoAcknowledge,omitempty"`

	// DefaultLocale is the language of the mail sent to a contact who has
	// no locale of their own, as a BCP 47 tag such as zh-CN or en. Unset:
	// the language of the customer's own text when it is written in
	// Chinese, Japanese or Korean, else spec.locale. Whichever locale is
	// chosen, the mail is in the first of them the tenant has a template
	// for (its own, or the built-in zh and en ones), English last.
	// +kubebuilder:validation:MaxLength=35
	// +kubebuilder:validation:Pattern=`^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$`
	// +optional
	DefaultLocale string `json:"defaultLocale,omitempty"`

	// Templates are the tenant's own wording of the mail the channel
	// sends, per kind of mail and locale; what they leave out is taken
	// from the built-in templates (zh and en). docs/email.md lists the
	// placeholders.
	// +optional
	Templates *EmailTemplates `json:"templates,omitempty"`
}

// LocalePattern is what spec.locale, spec.channels.email.defaultLocale
// and the locale keys of spec.channels.email.templates match: a BCP 47 tag
// of language, optional script and optional region, as the CRD schema says
// (TestLocalePatternMatchesSchema compares them).
const LocalePattern = `^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$`

// EmailTemplates holds a tenant's mail templates: for each kind of mail,
// a template per locale (a BCP 47 tag such as zh-CN, en or ja). Each
// template is Go text/template (html/template for html) over the
// placeholders of its kind, e.g. {{.Number}}, {{.Subject}},
// {{.Requester}}; one that does not parse or names a placeholder that
// does not exist is refused when the configuration is read, and the
// operator keeps the tenant's previous configuration.
type EmailTemplates struct {
	// Acknowledgement is the mail that answers a new ticket that came by
	// e-mail (spec.channels.email.autoAcknowledge).
	// +kubebuilder:validation:MaxProperties=20
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$'))",messageExpression="'locale ' + self.filter(k, !k.matches('^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$'))[0] + ' is not a BCP 47 tag; accepted: language, optional script, optional region, e.g. en, zh-CN, zh-Hant-TW'"
	// +optional
	Acknowledgement map[string]EmailTemplate `json:"acknowledgement,omitempty"`

	// Reply is the mail that carries an agent's public reply: its
	// placeholders add {{.Body}} (the reply) and {{.Agent}} (who wrote
	// it).
	// +kubebuilder:validation:MaxProperties=20
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$'))",messageExpression="'locale ' + self.filter(k, !k.matches('^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$'))[0] + ' is not a BCP 47 tag; accepted: language, optional script, optional region, e.g. en, zh-CN, zh-Hant-TW'"
	// +optional
	Reply map[string]EmailTemplate `json:"reply,omitempty"`
}

// EmailTemplate is one kind of mail in one locale. A field left empty is
// the built-in template's of the same language (zh or, for any other
// language, en).
type EmailTemplate struct {
	// Subject is the subject line. The mail always carries the ticket's
	// [#number] token, which threads the customer's answer: a subject
	// whose text lacks it gets it appended. Built-in: Re: <the ticket's
	// subject> [#number].
	// +kubebuilder:validation:MaxLength=500
	// +kubebuilder:validation:XValidation:rule="self.matches('^[^\\r\\n]*$')",message="subject must be one line"
	// +optional
	Subject string `json:"subject,omitempty"`

	// Text is the plain-text body.
	// +kubebuilder:validation:MaxLength=16384
	// +optional
	Text string `json:"text,omitempty"`

	// HTML is the HTML body, as html/template: placeholders are escaped
	// for where they stand. Unset: the text body, escaped, with its line
	// breaks kept.
	// +kubebuilder:validation:MaxLength=32768
	// +optional
	HTML string `json:"html,omitempty"`
}

// EmailAddressPattern is what an inbound address must match: a lower-case
// addr-spec (dot-atom local part, host name domain), as the CRD schema
// says (+kubebuilder:validation:Pattern on EmailInbound.Address, which
// must say the same: TestEmailAddressPatternMatchesSchema compares them).
const EmailAddressPattern = `^[a-z0-9!#$%&'*+/=?^_{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_{|}~-]+)*@[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`

// EmailInbound is one address that receives mail for the tenant.
type EmailInbound struct {
	// Address receives mail, e.g. support@acme.example, in lower case.
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[a-z0-9!#$%&'*+/=?^_{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_{|}~-]+)*@[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Address string `json:"address"`

	// Group the tickets go to, e.g. support. Empty: no group.
	// +kubebuilder:validation:MaxLength=200
	// +optional
	Group string `json:"group,omitempty"`
}

// AttachmentsSpec chooses the blob store of the tenant's attachments.
// +kubebuilder:validation:XValidation:rule="!has(self.s3) || !has(self.volume)",message="set one of s3 or volume, not both"
// +kubebuilder:validation:XValidation:rule="has(self.s3) || has(self.volume)",message="set s3 or volume; leave attachments out to keep attachments in the ticket pods' data directory"
type AttachmentsSpec struct {
	// S3 keeps attachments in an S3-compatible bucket (AWS S3, MinIO,
	// Ceph RGW, ...): the scale-out option, shared by every ticket
	// replica.
	// +optional
	S3 *S3Attachments `json:"s3,omitempty"`

	// Volume keeps attachments on an existing PersistentVolumeClaim,
	// mounted at /data/blobs in the ticket pods. More than one ticket
	// replica needs a ReadWriteMany claim; with any other access mode the
	// ticket Deployment is recreated rather than rolled, one pod at a
	// time.
	// +optional
	Volume *VolumeAttachments `json:"volume,omitempty"`
}

// S3Attachments is an S3-compatible bucket reached by URL.
type S3Attachments struct {
	// URLSecretRef names the Secret key holding the bucket's URL with its
	// credentials, e.g.
	// s3://KEY:SECRET@bucket/prefix?endpoint=minio.storage:9000&region=us-east-1
	// (insecure=true for plain HTTP). The operator gives it to the ticket
	// pods as KUBEDESK_BLOB_URL, never in the configuration, and restarts
	// them when it changes.
	URLSecretRef SecretKeySelector `json:"urlSecretRef"`
}

// VolumeAttachments is a PersistentVolumeClaim in the tenant's namespace.
type VolumeAttachments struct {
	// ClaimName names the claim; the operator neither creates nor deletes
	// it. Its volume must be writable by group 65532 (the pods' fsGroup).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	ClaimName string `json:"claimName"`
}

// DatabaseSpec chooses the tenant's database.
// +kubebuilder:validation:XValidation:rule="has(self.postgres) != has(self.embedded)",message="set exactly one of postgres or embedded"
type DatabaseSpec struct {
	// Postgres is a PostgreSQL database the tenant owns (one database per
	// tenant); required to run more than one replica of any component.
	// +optional
	Postgres *PostgresDatabase `json:"postgres,omitempty"`

	// Embedded is SQLite on a PersistentVolumeClaim: for trying kubedesk
	// out and small single-replica tenants.
	// +optional
	Embedded *EmbeddedDatabase `json:"embedded,omitempty"`
}

// PostgresDatabase is a PostgreSQL database reached by URL.
type PostgresDatabase struct {
	// URLSecretRef names the Secret key holding the connection URL, e.g.
	// postgres://kubedesk:…@pg.db:5432/acme?sslmode=require.
	URLSecretRef SecretKeySelector `json:"urlSecretRef"`
}

// SecretKeySelector names one key of a Secret in the tenant's namespace.
type SecretKeySelector struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// EmbeddedDatabase is SQLite on a volume the operator claims.
type EmbeddedDatabase struct {
	// StorageSize is the size of the PersistentVolumeClaim.
	// +kubebuilder:default="1Gi"
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="storageSize must be positive, e.g. 1Gi"
	// +optional
	StorageSize *resource.Quantity `json:"storageSize,omitempty"`

	// StorageClassName of the claim; unset uses the cluster's default
	// storage class.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
}

// TemporalSpec chooses the Temporal server.
// +kubebuilder:validation:XValidation:rule="has(self.address) != has(self.embedded)",message="set exactly one of address or embedded"
type TemporalSpec struct {
	// Address of the Temporal frontend as host:port, e.g.
	// temporal-frontend.temporal:7233.
	// +kubebuilder:validation:MaxLength=261
	// +kubebuilder:validation:Pattern=`^([a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\]):[1-9][0-9]{0,4}$`
	// +optional
	Address string `json:"address,omitempty"`

	// Namespace is the Temporal namespace the tenant's workflows run in.
	// +kubebuilder:default=kubedesk
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Embedded runs a Temporal server inside the worker's process, on the
	// tenant's database: for single-replica tenants only.
	// +optional
	Embedded *EmbeddedTemporal `json:"embedded,omitempty"`
}

// EmbeddedTemporal selects the embedded Temporal server; it has no
// settings yet.
type EmbeddedTemporal struct{}

// ComponentName names a component: the --target its Deployment runs.
// +kubebuilder:validation:Enum=gateway;ticket;channel;routing;knowledge;survey;reporting;worker
type ComponentName string

// The components.
const (
	ComponentGateway   ComponentName = "gateway"
	ComponentTicket    ComponentName = "ticket"
	ComponentChannel   ComponentName = "channel"
	ComponentRouting   ComponentName = "routing"
	ComponentKnowledge ComponentName = "knowledge"
	ComponentSurvey    ComponentName = "survey"
	ComponentReporting ComponentName = "reporting"
	ComponentWorker    ComponentName = "worker"
)

// AllComponents lists every component, in the order of ComponentsSpec.
func AllComponents() []ComponentName {
	return []ComponentName{
		ComponentGateway, ComponentTicket, ComponentChannel, ComponentRouting,
		ComponentKnowledge, ComponentSurvey, ComponentReporting, ComponentWorker,
	}
}

// DefaultEnabled reports whether name runs when its spec does not say:
// gateway, ticket, channel, routing and worker do (the components of
// --target=all); the components not built yet do not.
func DefaultEnabled(name ComponentName) bool {
	switch name {
	case ComponentGateway, ComponentTicket, ComponentChannel, ComponentRouting, ComponentWorker:
		return true
	}
	return false
}

// ComponentsSpec holds one optional spec per component.
//
// +kubebuilder:validation:XValidation:rule="!has(self.knowledge) || !has(self.knowledge.enabled) || !self.knowledge.enabled",message="knowledge is not available in kubedesk v1alpha1 yet; set enabled: false or leave it out",fieldPath=".knowledge.enabled",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.survey) || !has(self.survey.enabled) || !self.survey.enabled",message="survey is not available in kubedesk v1alpha1 yet; set enabled: false or leave it out",fieldPath=".survey.enabled",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.reporting) || !has(self.reporting.enabled) || !self.reporting.enabled",message="reporting is not available in kubedesk v1alpha1 yet; set enabled: false or leave it out",fieldPath=".reporting.enabled",reason=FieldValueForbidden
type ComponentsSpec struct {
	// Gateway serves REST and OpenAPI; enabled by default.
	// +optional
	Gateway *ComponentSpec `json:"gateway,omitempty"`
	// Ticket is the system of record for tickets; enabled by default.
	// +optional
	Ticket *ComponentSpec `json:"ticket,omitempty"`
	// Channel owns customers (contacts, organisations) and the e-mail
	// channel: SMTP in on port 2525, replies out through
	// spec.channels.email.relaySecretRef; enabled by default.
	// +optional
	Channel *ComponentSpec `json:"channel,omitempty"`
	// Routing assigns tickets to groups and agents by the tenant's
	// RoutingRules, the groups' strategies and the agents' skills,
	// capacity and presence; enabled by default. The gateway serves its
	// REST routes (/v1/groups, /v1/agents, /v1/routingRules, claims and
	// transfers).
	// +optional
	Routing *ComponentSpec `json:"routing,omitempty"`
	// Knowledge (articles, search) is not available yet; disabled by
	// default.
	// +optional
	Knowledge *ComponentSpec `json:"knowledge,omitempty"`
	// Survey (CSAT, NPS) is not available yet; disabled by default.
	// +optional
	Survey *ComponentSpec `json:"survey,omitempty"`
	// Reporting (the read model and reports) is not available yet;
	// disabled by default.
	// +optional
	Reporting *ComponentSpec `json:"reporting,omitempty"`
	// Worker runs the SLA policies and clocks (the relay and the Temporal
	// worker); enabled by default.
	// +optional
	Worker *ComponentSpec `json:"worker,omitempty"`
}

// Get returns the spec given for name, nil when there is none.
func (c ComponentsSpec) Get(name ComponentName) *ComponentSpec {
	switch name {
	case ComponentGateway:
		return c.Gateway
	case ComponentTicket:
		return c.Ticket
	case ComponentChannel:
		return c.Channel
	case ComponentRouting:
		return c.Routing
	case ComponentKnowledge:
		return c.Knowledge
	case ComponentSurvey:
		return c.Survey
	case ComponentReporting:
		return c.Reporting
	case ComponentWorker:
		return c.Worker
	}
	return nil
}

// IsEnabled reports whether name runs: its enabled field when set, else
// DefaultEnabled(name).
func (c ComponentsSpec) IsEnabled(name ComponentName) bool {
	if s := c.Get(name); s != nil && s.Enabled != nil {
		return *s.Enabled
	}
	return DefaultEnabled(name)
}

// Enabled lists the components that run, in AllComponents order.
func (c ComponentsSpec) Enabled() []ComponentName {
	var out []ComponentName
	for _, n := range AllComponents() {
		if c.IsEnabled(n) {
			out = append(out, n)
		}
	}
	return out
}

// Replicas is how many replicas of name run when it is enabled: its
// replicas field when set, else 1 (the schema default).
func (c ComponentsSpec) Replicas(name ComponentName) int32 {
	if s := c.Get(name); s != nil && s.Replicas != nil {
		return *s.Replicas
	}
	return 1
}

// ComponentSpec is how one component runs.
type ComponentSpec struct {
	// Enabled runs the component when true; unset means the component's
	// default (see ComponentsSpec).
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// Replicas of the component's Deployment.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Resources of the component's container.
	// +optional
	Resources Resources `json:"resources,omitempty"`
}

// Resources are the compute resources of a container, as in a Pod's
// resources.requests and resources.limits (kept free of k8s.io/api so the
// kubedesk binary can import this package cheaply).
// +kubebuilder:validation:XValidation:rule="!has(self.requests) || !has(self.limits) || self.requests.all(k, !(k in self.limits) || quantity(string(self.limits[k])).compareTo(quantity(string(self.requests[k]))) >= 0)",message="every limit must be at least its request"
type Resources struct {
	// Requests is what the scheduler reserves for the container.
	// +optional
	Requests ResourceList `json:"requests,omitempty"`
	// Limits is the most the container may use.
	// +optional
	Limits ResourceList `json:"limits,omitempty"`
}

// ResourceList maps a resource name (cpu, memory or ephemeral-storage) to
// a quantity such as 500m or 256Mi.
// +kubebuilder:validation:MaxProperties=3
// +kubebuilder:validation:XValidation:rule="self.all(k, !quantity(string(self[k])).isLessThan(quantity('0')))",message="quantities must not be negative"
// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['cpu', 'memory', 'ephemeral-storage'])",messageExpression="'resource ' + self.filter(k, !(k in ['cpu', 'memory', 'ephemeral-storage']))[0] + ' is not supported; accepted: cpu, memory, ephemeral-storage'"
type ResourceList map[string]resource.Quantity

// IngressSpec exposes the gateway through an Ingress.
type IngressSpec struct {
	// Host is the DNS name the help desk is served on, e.g.
	// help.acme.example.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Host string `json:"host"`

	// ClassName is the IngressClass; unset uses the cluster's default.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ClassName *string `json:"className,omitempty"`

	// TLSSecretName names the Secret (type kubernetes.io/tls) with the
	// host's certificate; unset serves plain HTTP.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	TLSSecretName string `json:"tlsSecretName,omitempty"`
}

// HelpdeskTenantStatus reports what really runs.
type HelpdeskTenantStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Components reports each enabled component's Deployment.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Components []ComponentStatus `json:"components,omitempty"`

	// ComponentsReady is how many enabled components have all their
	// replicas ready, over how many are enabled, e.g. "3/3".
	// +kubebuilder:validation:MaxLength=16
	// +optional
	ComponentsReady string `json:"componentsReady,omitempty"`

	// GatewayURL is where the help desk is served: the ingress host when
	// there is one, else the gateway Service's in-cluster URL.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	GatewayURL string `json:"gatewayURL,omitempty"`

	// ConfigHash is the hash of the rendered configuration (tenant, SLA
	// policies and routing rules) the tenant's pods run; pods carry it in
	// an annotation, so a change rolls them.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	ConfigHash string `json:"configHash,omitempty"`

	// AdminKeySecret names the Secret in the tenant's namespace that holds
	// the tenant's first admin API key (key admin.key) and the token its
	// processes call each other with (key internal.token). The operator
	// generates it once and never changes what it holds; read the key
	// with kubectl get secret <name> -o jsonpath='{.data.admin\.key}' | base64 -d.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	AdminKeySecret string `json:"adminKeySecret,omitempty"`

	// AppliedPolicies lists the SLA policies, at the generation each had,
	// in the configuration of ConfigHash: the policies the tenant's pods
	// run. An SLAPolicy is Applied when it is listed here at its current
	// generation.
	// +listType=map
	// +listMapKey=name
	// +optional
	AppliedPolicies []AppliedPolicy `json:"appliedPolicies,omitempty"`

	// AppliedRoutingRules lists the routing rules, at the generation each
	// had, in the configuration of ConfigHash: the rules the tenant's
	// pods run. A RoutingRule is Applied when it is listed here at its
	// current generation.
	// +listType=map
	// +listMapKey=name
	// +optional
	AppliedRoutingRules []AppliedRoutingRule `json:"appliedRoutingRules,omitempty"`

	// Conditions: Ready (every enabled component available with the
	// current configuration), Progressing (a rollout is under way),
	// Degraded (something the operator cannot fix by waiting), and for a
	// tenant on PostgreSQL with the ticket component AttachmentsShared
	// (whether every ticket replica keeps attachments in one store that
	// outlives its pods; False says what to set).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ComponentStatus is one component's Deployment as last observed.
type ComponentStatus struct {
	// Name of the component.
	Name ComponentName `json:"name"`
	// DesiredReplicas is the replicas the spec asks for.
	DesiredReplicas int32 `json:"desiredReplicas"`
	// ReadyReplicas is the replicas that pass their readiness probe.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// UpdatedReplicas is the replicas that run the current configuration.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
}

// AppliedPolicy is one SLA policy in the configuration the tenant's pods
// run.
type AppliedPolicy struct {
	// Name of the SLAPolicy, in the tenant's namespace.
	Name string `json:"name"`
	// Generation of the SLAPolicy that the configuration holds.
	Generation int64 `json:"generation"`
}

// AppliedRoutingRule is one routing rule in the configuration the
// tenant's pods run.
type AppliedRoutingRule struct {
	// Name of the RoutingRule, in the tenant's namespace.
	Name string `json:"name"`
	// Generation of the RoutingRule that the configuration holds.
	Generation int64 `json:"generation"`
}

// HelpdeskTenant is one tenant's help desk, run by the operator in the
// tenant's namespace. Its name is the tenant ID and prefixes the names of
// the objects it owns, so it is a DNS label of at most 50 characters that
// starts with a letter.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=hdt,categories=kubedesk
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Components",type=string,JSONPath=`.status.componentsReady`
// +kubebuilder:printcolumn:name="Gateway URL",type=string,JSONPath=`.status.gatewayURL`,priority=1
// +kubebuilder:printcolumn:name="Admin Key Secret",type=string,JSONPath=`.status.adminKeySecret`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 50 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS label of at most 50 characters starting with a letter (it is the tenant ID and prefixes the tenant's Deployments and Services)"
type HelpdeskTenant struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   HelpdeskTenantSpec   `json:"spec"`
	Status HelpdeskTenantStatus `json:"status,omitempty"`
}

// HelpdeskTenantList is a list of HelpdeskTenant.
//
// +kubebuilder:object:root=true
type HelpdeskTenantList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HelpdeskTenant `json:"items"`
}
