package caddyaigateway

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

const maxVirtualModels = 10

func (a *App) applyVirtualModelPatch(p Patch, vm *VirtualModel) error {
	if err := errors.Join(Field(p, "name", &vm.Name), Field(p, "description", &vm.Description), Field(p, "models", &vm.Models), p.Done()); err != nil {
		return err
	}
	vm.Name = strings.TrimSpace(vm.Name)
	if err := validateText(vm.Name, vm.Description, ""); err != nil {
		return err
	}
	switch {
	case vm.Name == "":
		return &InvalidError{"name", "required"}
	case strings.Contains(vm.Name, ":"):
		return &InvalidError{"name", "cannot contain ':' (reserved for provider:model)"}
	case len(a.registry.Resolve(vm.Name)) > 0:
		return &InvalidError{"name", fmt.Sprintf("%q is already a catalog model", vm.Name)}
	case len(vm.Models) == 0 || len(vm.Models) > maxVirtualModels:
		return &InvalidError{"models", fmt.Sprintf("must list 1 to %d models", maxVirtualModels)}
	}
	for i, m := range vm.Models {
		if strings.TrimSpace(m) == "" {
			return &InvalidError{fmt.Sprintf("models[%d]", i), "empty model name"}
		}
	}
	return nil
}

// CreateVirtualModel names an ordered list of models.
func (a *App) CreateVirtualModel(p Patch) (*VirtualModel, error) {
	vm := &VirtualModel{}
	if err := a.applyVirtualModelPatch(p, vm); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	vm.ID, vm.CreatedAt, vm.UpdatedAt = ids.New("vm"), now, now
	return vm, a.shared.mutate(func(tx *store.Tx, st *state) error {
		if st.virtualModels[strings.ToLower(vm.Name)] != nil {
			return &ConflictError{fmt.Sprintf("virtual model %q exists", vm.Name)}
		}
		return tx.Put(store.VirtualModels, vm.ID, vm)
	})
}

// UpdateVirtualModel applies a PATCH body.
func (a *App) UpdateVirtualModel(id string, p Patch) (*VirtualModel, error) {
	var out VirtualModel
	return &out, a.shared.mutate(func(tx *store.Tx, st *state) error {
		if err := tx.Get(store.VirtualModels, id, &out); err != nil {
			return err
		}
		old := strings.ToLower(out.Name)
		if err := a.applyVirtualModelPatch(p, &out); err != nil {
			return err
		}
		if n := strings.ToLower(out.Name); n != old && st.virtualModels[n] != nil {
			return &ConflictError{fmt.Sprintf("virtual model %q exists", out.Name)}
		}
		out.UpdatedAt = time.Now().UTC()
		return tx.Put(store.VirtualModels, id, &out)
	})
}

// VirtualModels lists virtual models by id.
func (a *App) VirtualModels() []*VirtualModel {
	m := map[string]*VirtualModel{}
	for _, vm := range a.shared.snapshot().virtualModels {
		m[vm.ID] = vm
	}
	return sortedByID(m, func(x *VirtualModel) string { return x.ID })
}

// VirtualModel returns one by id or name.
func (a *App) VirtualModel(idOrName string) (*VirtualModel, error) {
	st := a.shared.snapshot()
	if vm := st.virtualModels[strings.ToLower(idOrName)]; vm != nil {
		return vm, nil
	}
	for _, vm := range st.virtualModels {
		if vm.ID == idOrName {
			return vm, nil
		}
	}
	return nil, ErrNotFound
}

// DeleteVirtualModel deletes one.
func (a *App) DeleteVirtualModel(id string) error {
	return a.shared.mutate(func(tx *store.Tx, _ *state) error { return tx.Delete(store.VirtualModels, id) })
}
