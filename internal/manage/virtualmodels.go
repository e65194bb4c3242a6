package manage

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/ids"
	"github.com/caddy-ai-gateway/caddy-ai-gateway/internal/store"
)

const maxVirtualModels = 10

func (s *Service) applyVirtualModelPatch(p Patch, vm *VirtualModel) error {
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
	case s.env.CatalogModel(vm.Name):
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
func (s *Service) CreateVirtualModel(p Patch) (*VirtualModel, error) {
	vm := &VirtualModel{}
	if err := s.applyVirtualModelPatch(p, vm); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	vm.ID, vm.CreatedAt, vm.UpdatedAt = ids.New("vm"), now, now
	return vm, s.mutate(func(tx ResourceTx, st *Snapshot) error {
		if st.VirtualModels[strings.ToLower(vm.Name)] != nil {
			return &ConflictError{fmt.Sprintf("virtual model %q exists", vm.Name)}
		}
		return tx.Put(store.VirtualModels, vm.ID, vm)
	})
}

// UpdateVirtualModel applies a PATCH body.
func (s *Service) UpdateVirtualModel(id string, p Patch) (*VirtualModel, error) {
	var out VirtualModel
	return &out, s.mutate(func(tx ResourceTx, st *Snapshot) error {
		if err := tx.Get(store.VirtualModels, id, &out); err != nil {
			return err
		}
		old := strings.ToLower(out.Name)
		if err := s.applyVirtualModelPatch(p, &out); err != nil {
			return err
		}
		if n := strings.ToLower(out.Name); n != old && st.VirtualModels[n] != nil {
			return &ConflictError{fmt.Sprintf("virtual model %q exists", out.Name)}
		}
		out.UpdatedAt = time.Now().UTC()
		return tx.Put(store.VirtualModels, id, &out)
	})
}

// VirtualModels lists virtual models by id.
func (s *Service) VirtualModels() []*VirtualModel {
	m := map[string]*VirtualModel{}
	for _, vm := range s.Snapshot().VirtualModels {
		m[vm.ID] = vm
	}
	return sortedByID(m, func(x *VirtualModel) string { return x.ID })
}

// VirtualModel returns one by id or name.
func (s *Service) VirtualModel(idOrName string) (*VirtualModel, error) {
	st := s.Snapshot()
	if vm := st.VirtualModels[strings.ToLower(idOrName)]; vm != nil {
		return vm, nil
	}
	for _, vm := range st.VirtualModels {
		if vm.ID == idOrName {
			return vm, nil
		}
	}
	return nil, ErrNotFound
}

// DeleteVirtualModel deletes one.
func (s *Service) DeleteVirtualModel(id string) error {
	return s.mutate(func(tx ResourceTx, _ *Snapshot) error { return tx.Delete(store.VirtualModels, id) })
}
