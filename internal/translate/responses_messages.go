package translate

import (
	"strings"
)

// Responses ⇄ Anthropic Messages, through chat: the chat request in the
// middle is never sent, only translated on, and the names of what was
// removed on the way are given in the client's own words.

// ResponsesToMessages translates an OpenAI Responses request into an
// Anthropic messages request: ResponsesToChat, then ChatToMessages (see
// both). err is a *StateError for a request that needs state kept by
// OpenAI.
func ResponsesToMessages(body []byte, o Options) (out []byte, removed []string, err error) {
	chat, rm1, err := ResponsesToChat(body, Options{Model: o.Model})
	if err != nil {
		return nil, nil, err
	}
	out, rm2, err := ChatToMessages(chat, o)
	if err != nil {
		return nil, nil, err
	}
	return out, mergeRemoved(rm1, rm2, chatNamesInResponses), nil
}

// MessagesToResponses translates an Anthropic messages request into an
// OpenAI Responses request: MessagesToChat, then ChatToResponses (see
// both).
func MessagesToResponses(body []byte, o Options) (out []byte, removed []string, err error) {
	chat, rm1, err := MessagesToChat(body, Options{Model: o.Model})
	if err != nil {
		return nil, nil, err
	}
	out, rm2, err := ChatToResponses(chat, o)
	if err != nil {
		return nil, nil, err
	}
	return out, mergeRemoved(rm1, rm2, chatNamesInMessages), nil
}

// MessagesResponseToResponses translates an Anthropic message into a
// Responses response object (see MessagesResponseToChat and
// ChatResponseToResponses): thinking becomes a reasoning summary,
// stop_reason max_tokens an incomplete response.
func MessagesResponseToResponses(body []byte, model string, request []byte) ([]byte, error) {
	chat, err := MessagesResponseToChat(body, model)
	if err != nil {
		return nil, err
	}
	return ChatResponseToResponses(chat, model, request)
}

// ResponsesResponseToMessages translates a Responses response object into
// an Anthropic message (see ResponsesResponseToChat and
// ChatResponseToMessages).
func ResponsesResponseToMessages(body []byte, model string) ([]byte, error) {
	chat, err := ResponsesResponseToChat(body, model)
	if err != nil {
		return nil, err
	}
	return ChatResponseToMessages(chat, model)
}

// chatNamesInResponses names a chat request's members as a Responses
// request does.
var chatNamesInResponses = map[string]string{
	"messages":              "input",
	"max_completion_tokens": "max_output_tokens",
	"reasoning_effort":      "reasoning.effort",
	"response_format":       "text.format",
	"verbosity":             "text.verbosity",
}

// chatNamesInMessages names a chat request's members as an Anthropic
// request does.
var chatNamesInMessages = map[string]string{
	"max_completion_tokens": "max_tokens",
	"reasoning_effort":      "thinking",
	"response_format":       "output_config.format",
	"stop":                  "stop_sequences",
	"user":                  "metadata.user_id",
}

// mergeRemoved joins the names removed by the first translation and, in
// the client's words, by the second (names of the chat request in the
// middle, renamed by names: by their first segment).
func mergeRemoved(first, second []string, names map[string]string) []string {
	var rm removedSet
	for _, n := range first {
		rm.add(n)
	}
	for _, n := range second {
		head, rest, found := strings.Cut(n, ".")
		if to, ok := names[head]; ok {
			n = to
			if found {
				n += "." + rest
			}
		}
		rm.add(n)
	}
	return rm.list()
}
