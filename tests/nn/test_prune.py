"""nn.utils.prune against torch.nn.utils.prune: masks and pruned weights of every
method (same weights; for the random methods counts, structure and seeding), the
state_dict layout, iterative pruning through PruningContainer, global pruning across
layers, remove(), gradients through the mask, and a small model trained after pruning."""
import numpy as np
import pytest

import nabla as nb
import nabla.nn as nn
from nabla.nn.utils import prune
from tests.optest import needs_torch, torch

if torch is not None:
    import torch.nn.utils.prune as TP


def twins(make_nb, make_torch, seed=0):
    """A nabla module and its torch twin with the same float32 state."""
    torch.manual_seed(seed)
    tm = make_torch()
    m = make_nb()
    m.load_state_dict({k: nb.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return m, tm


def linear_twins(seed=0, i=7, o=5):
    return twins(lambda: nn.Linear(i, o), lambda: torch.nn.Linear(i, o), seed)


def conv_twins(seed=0):
    return twins(lambda: nn.Conv2d(3, 6, 3), lambda: torch.nn.Conv2d(3, 6, 3), seed)


def assert_pruned_like(m, tm, name="weight"):
    """Same state_dict keys (in order) and values, same mask and pruned tensor."""
    sd, tsd = m.state_dict(), tm.state_dict()
    assert list(sd) == list(tsd)
    for key in sd:
        np.testing.assert_array_equal(sd[key].detach().numpy(), tsd[key].detach().numpy(),
                                      err_msg=key)
    np.testing.assert_array_equal(getattr(m, name).detach().numpy(),
                                  getattr(tm, name).detach().numpy())


# -- magnitude methods: the same masks as torch ----------------------------------------------
@needs_torch
@pytest.mark.parametrize("amount", [0.0, 0.3, 0.5, 1.0, 0, 4, 35])
def test_l1_unstructured_matches_torch(amount):
    m, tm = linear_twins()
    assert prune.l1_unstructured(m, "weight", amount) is m
    TP.l1_unstructured(tm, "weight", amount)
    assert_pruned_like(m, tm)
    assert m.weight_mask.dtype == np.float32
    assert int(m.weight_mask.detach().numpy().sum()) == 35 - (amount if isinstance(amount, int)
                                                     else round(amount * 35))


@needs_torch
def test_pruned_layout_parameters_buffers_and_hook():
    m, tm = conv_twins()
    weight = m.weight
    prune.l1_unstructured(m, "weight", amount=0.25)
    TP.l1_unstructured(tm, "weight", amount=0.25)
    assert m.weight_orig is weight  # the same Parameter: optimizers built before keep it
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()] \
        == ["bias", "weight_orig"]
    assert [n for n, _ in m.named_buffers()] == ["weight_mask"]
    assert not isinstance(m.weight, nn.Parameter) and "weight" not in m._parameters
    hooks = list(m._forward_pre_hooks.values())
    assert len(hooks) == 1 and isinstance(hooks[0], prune.L1Unstructured)
    assert hooks[0]._tensor_name == "weight" and prune.is_pruned(m)
    assert_pruned_like(m, tm)
    # the hook recomputes the weight before each forward, from weight_orig's new values
    with nb.no_grad():
        m.weight_orig.array[...] = 1.0
    m(nb.zeros(1, 3, 5, 5))
    np.testing.assert_array_equal(m.weight.detach().numpy(), m.weight_mask.detach().numpy())


@needs_torch
@pytest.mark.parametrize("n", [1, 2, 3, 0.5, float("inf"), float("-inf")])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_ln_structured_matches_torch(n, dim):
    m, tm = conv_twins(seed=1)
    prune.ln_structured(m, "weight", 0.5, n=n, dim=dim)
    TP.ln_structured(tm, "weight", 0.5, n=n, dim=dim)
    assert_pruned_like(m, tm)
    mask = m.weight_mask.detach().numpy()
    others = tuple(d for d in range(4) if d != dim % 4)
    kept = mask.sum(axis=others)
    assert set(np.unique(kept)) <= {0.0, mask.size / mask.shape[dim]}  # whole channels


@needs_torch
def test_ln_structured_fro_on_a_matrix_matches_torch():
    # torch's 'fro' is the 2-norm; it takes at most two reduced dims (a 4-d conv weight
    # raises there), nabla's takes any number
    m, tm = linear_twins(seed=9)
    prune.ln_structured(m, "weight", 2, n="fro", dim=0)
    TP.ln_structured(tm, "weight", 2, n="fro", dim=0)
    assert_pruned_like(m, tm)


@needs_torch
def test_importance_scores_match_torch():
    m, tm = conv_twins(seed=2)
    scores = np.random.default_rng(0).random(tm.weight.shape).astype(np.float32)
    prune.l1_unstructured(m, "weight", 0.4, importance_scores=nb.tensor(scores))
    TP.l1_unstructured(tm, "weight", 0.4, importance_scores=torch.tensor(scores))
    assert_pruned_like(m, tm)
    prune.ln_structured(m, "weight", 2, n=1, dim=0, importance_scores=nb.tensor(scores))
    TP.ln_structured(tm, "weight", 2, n=1, dim=0, importance_scores=torch.tensor(scores))
    assert_pruned_like(m, tm)
    with pytest.raises(AssertionError):
        prune.l1_unstructured(m, "bias", 1, importance_scores=nb.ones(3))


@needs_torch
def test_custom_from_mask_and_identity_match_torch():
    m, tm = linear_twins()
    mask = (np.arange(35).reshape(5, 7) % 3 != 0)
    prune.custom_from_mask(m, "weight", mask=nb.tensor(mask))
    TP.custom_from_mask(tm, "weight", mask=torch.tensor(mask))
    assert_pruned_like(m, tm)
    prune.identity(m, "bias")
    TP.identity(tm, "bias")
    assert_pruned_like(m, tm, "bias")
    np.testing.assert_array_equal(m.bias_mask.detach().numpy(), np.ones(5, np.float32))


@needs_torch
def test_prune_method_on_a_tensor():
    t = np.random.default_rng(3).standard_normal((4, 6)).astype(np.float32)
    got = prune.L1Unstructured(amount=0.5).prune(nb.tensor(t))
    want = TP.L1Unstructured(amount=0.5).prune(torch.tensor(t))
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    got = prune.LnStructured(2, n=2, dim=1).prune(nb.tensor(t), default_mask=nb.ones(4, 6))
    want = TP.LnStructured(2, n=2, dim=1).prune(torch.tensor(t), default_mask=torch.ones(4, 6))
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())


# -- iterative pruning: PruningContainer ---------------------------------------------------------
@needs_torch
def test_iterative_pruning_composes_like_torch():
    m, tm = conv_twins(seed=3)  # weight (6, 3, 3, 3): 162 entries
    steps = [(prune.l1_unstructured, TP.l1_unstructured, dict(amount=0.3)),
             (prune.l1_unstructured, TP.l1_unstructured, dict(amount=0.5)),
             (prune.ln_structured, TP.ln_structured, dict(amount=2, n=2, dim=0)),
             (prune.l1_unstructured, TP.l1_unstructured, dict(amount=10)),
             (prune.ln_structured, TP.ln_structured, dict(amount=0.5, n=1, dim=0))]
    for ours, theirs, kwargs in steps:
        ours(m, "weight", **kwargs)
        theirs(tm, "weight", **kwargs)
        assert_pruned_like(m, tm)
    # the amount applies to what remains: 162 -> 113 kept -> 57 kept (half of 113, rounded)
    hook = next(iter(m._forward_pre_hooks.values()))
    assert isinstance(hook, prune.PruningContainer) and len(hook) == 5
    assert [type(h).__name__ for h in hook] == ["L1Unstructured", "L1Unstructured",
                                                "LnStructured", "L1Unstructured",
                                                "LnStructured"]
    assert isinstance(hook[1], prune.L1Unstructured) and len(m._forward_pre_hooks) == 1
    assert [n for n, _ in m.named_buffers()] == ["weight_mask"]


def test_iterative_amount_counts_remaining_units():
    m = nn.Linear(10, 10)
    prune.l1_unstructured(m, "weight", 0.5)
    assert m.weight_mask.detach().numpy().sum() == 50
    prune.l1_unstructured(m, "weight", 0.5)  # half of the remaining 50
    assert m.weight_mask.detach().numpy().sum() == 25
    prune.random_unstructured(m, "weight", 5)
    assert m.weight_mask.detach().numpy().sum() == 20
    # a structured step: half of the rows still holding a weight, the rest untouched
    before = m.weight_mask.detach().numpy()
    rows_alive = int((before.sum(axis=1) > 0).sum())
    prune.random_structured(m, "weight", 0.5, dim=0)
    after = m.weight_mask.detach().numpy()
    alive_now = after.sum(axis=1) > 0
    assert alive_now.sum() == rows_alive - round(0.5 * rows_alive)
    np.testing.assert_array_equal(after[alive_now], before[alive_now])


def test_pruning_container_api():
    a, b = prune.L1Unstructured(0.1), prune.RandomUnstructured(0.1)
    a._tensor_name = b._tensor_name = "weight"
    c = prune.PruningContainer(a)
    c.add_pruning_method(b)
    assert len(c) == 2 and list(c) == [a, b] and c[1] is b and c._tensor_name == "weight"
    other = prune.Identity()
    other._tensor_name = "bias"
    with pytest.raises(ValueError, match="weight"):
        c.add_pruning_method(other)
    with pytest.raises(TypeError):
        c.add_pruning_method("not a method")
    with pytest.raises(TypeError):
        prune.BasePruningMethod()  # abstract: compute_mask is missing


# -- random methods: counts, structure, seeding ----------------------------------------------
@pytest.mark.parametrize("amount, pruned", [(0.3, 10), (0.5, 18), (7, 7), (0, 0), (1.0, 35)])
def test_random_unstructured_counts_and_seed(amount, pruned):
    masks = []
    for _ in range(2):
        nb.manual_seed(11)
        m = nn.Linear(7, 5)
        prune.random_unstructured(m, "weight", amount)
        masks.append(m.weight_mask.detach().numpy())
        np.testing.assert_array_equal(m.weight.detach().numpy(),
                                      m.weight_orig.detach().numpy() * masks[-1])
    np.testing.assert_array_equal(masks[0], masks[1])  # same seed, same mask
    assert (masks[0] == 0).sum() == pruned and set(np.unique(masks[0])) <= {0.0, 1.0}
    if amount == 0.5:  # another seed, another mask
        nb.manual_seed(12)
        m = nn.Linear(7, 5)
        prune.random_unstructured(m, "weight", 0.5)
        assert (m.weight_mask.detach().numpy() == 0).sum() == 18
        assert not np.array_equal(m.weight_mask.detach().numpy(), masks[0])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_random_structured_prunes_whole_channels(dim):
    masks = []
    for _ in range(2):
        nb.manual_seed(5)
        m = nn.Conv2d(4, 6, 3)
        prune.random_structured(m, "weight", 0.5, dim=dim)
        masks.append(m.weight_mask.detach().numpy())
    np.testing.assert_array_equal(masks[0], masks[1])
    mask = masks[0]
    axis = dim % 4
    per_channel = mask.sum(axis=tuple(d for d in range(4) if d != axis))
    full = mask.size / mask.shape[axis]
    assert set(np.unique(per_channel)) <= {0.0, full}
    assert (per_channel == 0).sum() == round(0.5 * mask.shape[axis])
    # again: half of the channels still alive
    alive = (per_channel > 0).sum()
    prune.random_structured(m, "weight", 0.5, dim=dim)
    per_channel = m.weight_mask.detach().numpy().sum(axis=tuple(d for d in range(4) if d != axis))
    assert (per_channel > 0).sum() == alive - round(0.5 * alive)


# -- validation: the errors torch raises -----------------------------------------------------
@needs_torch
@pytest.mark.parametrize("amount, error", [(-1, ValueError), (1.5, ValueError),
                                           (-0.1, ValueError), ("0.5", TypeError),
                                           (36, ValueError)])
def test_amount_validation_matches_torch(amount, error):
    m, tm = linear_twins()
    with pytest.raises(error):
        TP.l1_unstructured(tm, "weight", amount)
    with pytest.raises(error):
        prune.l1_unstructured(m, "weight", amount)
    # a failed pruning leaves the weight a parameter (moved last in the order, as torch)
    assert isinstance(m.weight, nn.Parameter) and not prune.is_pruned(m)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert not m._buffers and "weight_orig" not in m._parameters


@needs_torch
def test_structured_validation_matches_torch():
    m, tm = linear_twins()
    for ours, theirs, kwargs, error in [
            (prune.ln_structured, TP.ln_structured, dict(name="bias", amount=1, n=2, dim=0),
             ValueError),
            (prune.ln_structured, TP.ln_structured, dict(name="weight", amount=1, n=2, dim=2),
             IndexError),
            (prune.random_structured, TP.random_structured,
             dict(name="weight", amount=6, dim=0), ValueError)]:
        with pytest.raises(error):
            theirs(tm, **kwargs)
        with pytest.raises(error):
            ours(m, **kwargs)
    with pytest.raises(ValueError, match="pruned"):
        prune.remove(m, "weight")
    with pytest.raises(TypeError, match="structured"):
        prune.global_unstructured([(m, "weight")], prune.LnStructured, amount=1, n=2)


# -- ties ---------------------------------------------------------------------------------------
@needs_torch
def test_ties_pick_lowest_indices():
    # torch's pick among equal values is its C++ library's nth_element/partial_sort order;
    # where that is the lowest indices (few of many), nabla agrees
    m, tm = (nn.Linear(100, 10), torch.nn.Linear(100, 10))
    with nb.no_grad():
        m.weight.array[...] = 0.5
    with torch.no_grad():
        tm.weight.fill_(0.5)
    prune.l1_unstructured(m, "weight", 3)
    TP.l1_unstructured(tm, "weight", 3)
    np.testing.assert_array_equal(m.weight_mask.detach().numpy(), tm.weight_mask.detach().numpy())
    assert np.flatnonzero(m.weight_mask.detach().numpy() == 0).tolist() == [0, 1, 2]
    # elsewhere torch's pick is scattered (5 of 10 prunes 5..9 in some order); nabla:
    # the lowest indices, the same number pruned
    m, tm = nn.Linear(10, 1), torch.nn.Linear(10, 1)
    with nb.no_grad():
        m.weight.array[...] = 1.0
    with torch.no_grad():
        tm.weight.fill_(1.0)
    prune.l1_unstructured(m, "weight", 5)
    TP.l1_unstructured(tm, "weight", 5)
    assert np.flatnonzero(m.weight_mask.detach().numpy() == 0).tolist() == [0, 1, 2, 3, 4]
    assert (tm.weight_mask == 0).sum().item() == 5
    # structured ties keep the lowest channel indices
    m = nn.Linear(3, 4)
    with nb.no_grad():
        m.weight.array[...] = 1.0
    prune.ln_structured(m, "weight", 2, n=2, dim=0)
    assert m.weight_mask.detach().numpy().sum(axis=1).tolist() == [3.0, 3.0, 0.0, 0.0]


# -- global pruning ---------------------------------------------------------------------------
def three_layers(lib):
    torch.manual_seed(4)
    tl = [torch.nn.Linear(6, 8), torch.nn.Conv2d(2, 3, 3), torch.nn.Linear(8, 2)]
    if lib == "torch":
        return tl
    ours = [nn.Linear(6, 8), nn.Conv2d(2, 3, 3), nn.Linear(8, 2)]
    for m, t in zip(ours, tl):
        m.load_state_dict({k: nb.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return ours


@needs_torch
@pytest.mark.parametrize("amount", [0.2, 0.6, 25])
def test_global_unstructured_matches_torch(amount):
    ours, theirs = three_layers("nabla"), three_layers("torch")
    prune.l1_unstructured(ours[0], "weight", 0.5)  # an already pruned tensor joins in
    TP.l1_unstructured(theirs[0], "weight", 0.5)
    params = [(m, "weight") for m in ours] + [(ours[2], "bias")]
    tparams = [(m, "weight") for m in theirs] + [(theirs[2], "bias")]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
    TP.global_unstructured(tparams, pruning_method=TP.L1Unstructured, amount=amount)
    for m, tm in zip(ours, theirs):
        assert_pruned_like(m, tm)
        assert_pruned_like(m, tm, "bias") if hasattr(tm, "bias_mask") else None
    total = sum(m.weight.numel() for m in ours) + 2
    kept = sum(float(getattr(m, n + "_mask").detach().numpy().sum()) for m, n in params)
    remaining = total - 24  # 24 of linear 0's 48 weights were pruned first
    pruned_now = amount if isinstance(amount, int) else round(amount * remaining)
    assert kept == remaining - pruned_now


@needs_torch
def test_global_unstructured_importance_scores_match_torch():
    ours, theirs = three_layers("nabla"), three_layers("torch")
    rng = np.random.default_rng(1)
    scores = [rng.random(tuple(t.weight.shape)).astype(np.float32) for t in theirs[:2]]
    prune.global_unstructured(
        [(m, "weight") for m in ours], prune.L1Unstructured, amount=0.5,
        importance_scores={(ours[i], "weight"): nb.tensor(s) for i, s in enumerate(scores)})
    TP.global_unstructured(
        [(m, "weight") for m in theirs], TP.L1Unstructured, amount=0.5,
        importance_scores={(theirs[i], "weight"): torch.tensor(s) for i, s in enumerate(scores)})
    for m, tm in zip(ours, theirs):
        assert_pruned_like(m, tm)
    nb.manual_seed(0)
    prune.global_unstructured([(m, "bias") for m in ours], prune.RandomUnstructured, amount=3)
    assert sum(int((m.bias_mask.detach().numpy() == 0).sum()) for m in ours) == 3


# -- remove ------------------------------------------------------------------------------------
@needs_torch
def test_remove_makes_pruning_permanent_like_torch():
    m, tm = conv_twins(seed=5)
    prune.l1_unstructured(m, "weight", 0.4)
    prune.ln_structured(m, "weight", 1, n=2, dim=0)
    TP.l1_unstructured(tm, "weight", 0.4)
    TP.ln_structured(tm, "weight", 1, n=2, dim=0)
    orig = m.weight_orig
    assert prune.remove(m, "weight") is m
    TP.remove(tm, "weight")
    assert_pruned_like(m, tm)
    assert list(m.state_dict()) == ["bias", "weight"]
    assert m.weight is orig and isinstance(m.weight, nn.Parameter)
    assert not prune.is_pruned(m) and not m._forward_pre_hooks and not m._buffers
    assert "weight" not in m.__dict__
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight"]
    # a model is pruned when any submodule is
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), m)
    assert not prune.is_pruned(seq)
    prune.identity(seq[0], "weight")
    assert prune.is_pruned(seq)


# -- gradients and training ---------------------------------------------------------------------
@needs_torch
def test_gradients_flow_to_orig_through_kept_entries_only():
    m, tm = linear_twins(seed=6)
    prune.l1_unstructured(m, "weight", 0.5)
    TP.l1_unstructured(tm, "weight", 0.5)
    x = np.random.default_rng(2).standard_normal((4, 7)).astype(np.float32)
    (m(nb.tensor(x)) ** 2).sum().backward()
    (tm(torch.tensor(x)) ** 2).sum().backward()
    np.testing.assert_allclose(m.weight_orig.grad.numpy(), tm.weight_orig.grad.numpy(),
                               rtol=1e-5, atol=1e-6)
    assert np.all(m.weight_orig.grad.detach().numpy()[m.weight_mask.detach().numpy() == 0] == 0)
    np.testing.assert_allclose(m.bias.grad.numpy(), tm.bias.grad.numpy(), rtol=1e-5)


@needs_torch
def test_training_after_pruning_keeps_pruned_entries_zero_like_torch():
    def make(lib):
        return lib.Sequential(lib.Linear(4, 8), lib.Tanh(), lib.Linear(8, 1))
    model, tmodel = twins(lambda: make(nn), lambda: make(torch.nn), seed=7)
    for lib_prune, mdl in ((prune, model), (TP, tmodel)):
        lib_prune.l1_unstructured(mdl[0], "weight", 0.5)
        lib_prune.ln_structured(mdl[2], "weight", 3, n=1, dim=1)
    opt = nb.optim.SGD(model.parameters(), lr=0.1)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1)
    assert any(p is model[0].weight_orig for p in model.parameters())
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = np.sin(x.sum(1, keepdims=True)).astype(np.float32)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = ((model(nb.tensor(x)) - nb.tensor(y)) ** 2).mean()
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = ((tmodel(torch.tensor(x)) - torch.tensor(y)) ** 2).mean()
        tloss.backward()
        topt.step()
        losses.append(loss.item())
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-4)
    assert losses[-1] < losses[0]
    model(nb.tensor(x))  # the hooks refresh the weights from the trained originals
    for i in (0, 2):
        w, mask = model[i].weight.detach().numpy(), model[i].weight_mask.detach().numpy()
        assert np.all(w[mask == 0] == 0) and np.any(w[mask == 1] != 0)
        np.testing.assert_allclose(model[i].weight_orig.detach().numpy(),
                                   tmodel[i].weight_orig.detach().numpy(), atol=1e-5)


@needs_torch
def test_pruned_state_dict_loads_from_torch():
    m, tm = linear_twins(seed=8)
    TP.l1_unstructured(tm, "weight", 0.6)
    prune.identity(m, "weight")  # the same layout, mask all ones
    m.load_state_dict({k: nb.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(4).standard_normal((3, 7)).astype(np.float32)
    np.testing.assert_allclose(m(nb.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
