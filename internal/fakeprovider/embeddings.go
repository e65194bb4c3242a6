package fakeprovider

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
)

// OpenAI Embeddings: POST .../v1/embeddings.

// defaultEmbeddingDims is the vector size unless the request asks for
// "dimensions".
const defaultEmbeddingDims = 8

type embeddingsRequest struct {
	Model          string `json:"model"`
	Input          any    `json:"input"`
	EncodingFormat string `json:"encoding_format"`
	Dimensions     int    `json:"dimensions"`
}

type embeddingList struct {
	Object string            `json:"object"` // "list"
	Data   []embeddingObject `json:"data"`
	Model  string            `json:"model"`
	Usage  *embeddingUsage   `json:"usage,omitempty"`
}

type embeddingObject struct {
	Object    string `json:"object"` // "embedding"
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string
}

type embeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

func (c *call) embeddings() error {
	var req embeddingsRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.badJSON(err)
		return nil
	}
	if req.Model == "" {
		c.badRequest("you must provide a model parameter")
		return nil
	}
	inputs, textBytes, tokenIDs, ok := embeddingInputs(req.Input)
	if !ok {
		c.missingParam("input")
		return nil
	}
	dims := req.Dimensions
	if dims <= 0 {
		dims = defaultEmbeddingDims
	}

	out := embeddingList{Object: "list", Data: make([]embeddingObject, len(inputs)), Model: req.Model}
	for i, in := range inputs {
		vec := fakeVector(in, dims)
		var emb any = vec
		// The openai-node SDK asks for base64 by default and decodes it as
		// little-endian float32s.
		if req.EncodingFormat == "base64" {
			buf := make([]byte, 0, 4*len(vec))
			for _, f := range vec {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		out.Data[i] = embeddingObject{Object: "embedding", Index: i, Embedding: emb}
	}
	if !c.cfg.OmitUsage {
		n := max(1, (textBytes+3)/4+tokenIDs)
		out.Usage = &embeddingUsage{PromptTokens: n, TotalTokens: n}
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// embeddingInputs normalises the accepted input shapes (a string, an array
// of strings, an array of token ids, or an array of such arrays) into one
// key per input, and measures them: text bytes plus token ids (one token
// each).
func embeddingInputs(input any) (keys []string, textBytes, tokenIDs int, ok bool) {
	switch v := input.(type) {
	case string:
		return []string{v}, len(v), 0, true
	case []any:
		if len(v) == 0 {
			return nil, 0, 0, false
		}
		if _, isNum := v[0].(float64); isNum {
			return []string{fmt.Sprint(v)}, 0, len(v), true
		}
		for _, e := range v {
			switch e := e.(type) {
			case string:
				keys = append(keys, e)
				textBytes += len(e)
			case []any:
				keys = append(keys, fmt.Sprint(e))
				tokenIDs += len(e)
			default:
				return nil, 0, 0, false
			}
		}
		return keys, textBytes, tokenIDs, true
	}
	return nil, 0, 0, false
}

// fakeVector derives a deterministic unit vector from key, so equal inputs
// get equal embeddings.
func fakeVector(key string, dims int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(key))
	state := h.Sum64()
	vec := make([]float32, dims)
	var norm float64
	for i := range vec {
		// splitmix64 step: cheap, well-mixed pseudo-random numbers.
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		f := float64(z>>11)/float64(1<<53)*2 - 1 // in [-1, 1)
		vec[i] = float32(f)
		norm += f * f
	}
	if norm = math.Sqrt(norm); norm > 0 {
		for i := range vec {
			vec[i] = float32(float64(vec[i]) / norm)
		}
	}
	return vec
}
