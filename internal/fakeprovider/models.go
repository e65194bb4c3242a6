package fakeprovider

import (
	"fmt"
	"net/http"
	"slices"
)

// OpenAI Models: GET .../v1/models and GET .../v1/models/{id}.

// models lists the model ids the fake advertises. Any model id is accepted
// by the other endpoints.
var models = []string{
	"gpt-4o",
	"gpt-4o-mini",
	"o3-mini",
	"text-embedding-3-small",
	"claude-sonnet-4-5",
	"fake-model",
}

// modelsCreated is a fixed creation time so answers are deterministic.
const modelsCreated = 1700000000

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "model"
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type modelList struct {
	Object string        `json:"object"` // "list"
	Data   []modelObject `json:"data"`
}

func (c *call) listModels() error {
	list := modelList{Object: "list", Data: make([]modelObject, len(models))}
	for i, id := range models {
		list.Data[i] = modelObject{ID: id, Object: "model", Created: modelsCreated, OwnedBy: "fake"}
	}
	writeJSON(c.w, http.StatusOK, list)
	return nil
}

func (c *call) retrieveModel(id string) error {
	if !slices.Contains(models, id) {
		c.fail(apiError{
			Status:  http.StatusNotFound,
			Type:    "invalid_request_error",
			Message: fmt.Sprintf("The model '%s' does not exist", id),
			Param:   "model",
			Code:    "model_not_found",
		})
		return nil
	}
	writeJSON(c.w, http.StatusOK, modelObject{ID: id, Object: "model", Created: modelsCreated, OwnedBy: "fake"})
	return nil
}
