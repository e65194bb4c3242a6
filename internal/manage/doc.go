// Package manage is the gateway's management service, free of Caddy: the
// resources (accounts, access keys and their configurations, provider
// keys, custom providers, virtual models, management API keys, the gateway
// config), their validation and PATCH rules, the immutable snapshot the
// request path reads, the in-memory access key index, the credits API and
// the usage queries. The `ai` app opens one per store and the management
// API (admin.api.ai) calls it.
package manage
