"""The zoo: every model builds, has the right output shape and parameter count, matches
a PyTorch rendering of the same architecture where that is short, and learns."""
import numpy as np
import pytest

import nabla as nb
from nabla import models, nn, optim
from tests.optest import torch

# small settings keep the big models quick; defaults are checked by parameter count
SMALL = {
    "alexnet": {"widths": (8, 16, 16, 16, 16), "hidden": 32},
    "vgg11": {"width": 8, "hidden": 16},
    "vgg16": {"width": 8, "hidden": 16},
    "resnet18": {},
    "mobilenet": {"width_mult": 0.25},
}
# parameter counts of the default configurations (10 classes)
COUNTS = {"logistic_regression": 650, "mlp": 17_226, "lenet5": 61_706, "cifar_net": 62_006,
          "resnet20": 272_474, "resnet32": 466_906}


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _shape(name: str) -> tuple:
    return (1, 8, 8) if models.MODELS[name].default_dataset == "digits" else (3, 32, 32)


CLASSIFIERS = [name for name, entry in models.MODELS.items() if entry.task == "classification"]


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_builds_and_forward_shape(name):
    shape = _shape(name)
    model = models.get_model(name, input_shape=shape, num_classes=7, **SMALL.get(name, {}))
    model.eval()
    out = model(nb.randn(2, *shape))
    assert tuple(out.shape) == (2, 7) and out.dtype == nb.float32
    assert np.isfinite(out.detach().numpy()).all()


@pytest.mark.parametrize("name,count", list(COUNTS.items()))
def test_parameter_counts(name, count):
    assert _count(models.get_model(name)) == count


def test_resnet18_imagenet_stem_is_torchvision_size():
    # torchvision.models.resnet18(): 11,689,512 parameters for 1000 classes
    model = models.resnet18(input_shape=(3, 64, 64), num_classes=1000, stem="imagenet")
    assert _count(model) == 11_689_512
    assert tuple(model.eval()(nb.randn(1, 3, 64, 64)).shape) == (1, 1000)


def test_mobilenet_blocks_are_depthwise_separable():
    model = models.mobilenet(width_mult=0.25)
    block = model.features[1]
    assert block.depthwise.groups == block.depthwise.in_channels == 8
    assert tuple(block.pointwise.weight.shape) == (16, 8, 1, 1)


def test_lenet_adapts_to_input_size():
    for size, has_upsample in ((8, True), (28, False), (32, False)):
        model = models.lenet5(input_shape=(1, size, size))
        assert ("upsample" in model._modules) == has_upsample
        assert _count(model) == 61_706
        assert tuple(model(nb.randn(2, 1, size, size)).shape) == (2, 10)
    assert models.lenet5(input_shape=(1, 28, 28)).conv1.padding in (2, (2, 2))


def test_vgg_skips_pools_on_tiny_inputs():
    model = models.vgg11(input_shape=(1, 8, 8), width=4, hidden=8)
    pools = [m for m in model.features if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 3  # 8 -> 4 -> 2 -> 1
    assert tuple(model.eval()(nb.randn(2, 1, 8, 8)).shape) == (2, 10)


def test_config_errors():
    with pytest.raises(ValueError, match="depth must be one of"):
        models.vgg(depth=12)
    with pytest.raises(ValueError, match=r"depth must be 6n \+ 2"):
        models.resnet(depth=21)
    with pytest.raises(ValueError, match="needs inputs of at least 16x16"):
        models.cifar_net(input_shape=(1, 8, 8))
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        models.get_model("nope")
    assert models.resolve_name("LeNet") == "lenet5"


@pytest.mark.parametrize("name", ["logistic_regression", "mlp", "lenet5", "cifar_net",
                                  "resnet20", "mobilenet"])
def test_one_training_step_reduces_the_loss(name):
    shape = _shape(name)
    if name == "resnet20":  # ResNet-8, one block per stage: the same code, faster
        model = models.resnet(depth=8, input_shape=shape)
    else:
        model = models.get_model(name, input_shape=shape, **SMALL.get(name, {}))
    x, y = nb.randn(16, *shape), nb.randint(0, 10, (16,))
    opt = optim.SGD(model.parameters(), lr=0.05 if name != "logistic_regression" else 0.5)
    loss_fn = nn.CrossEntropyLoss()
    model.eval()  # the same batch-norm statistics before and after the step
    losses = []
    for _ in range(2):
        opt.zero_grad()
        model.train()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        model.eval()
        with nb.no_grad():
            losses.append(loss_fn(model(x), y).item())
    assert losses[1] < losses[0]


# -- PyTorch renderings with the same parameter names -----------------------------------------
def _torch_cifar_net():
    tnn, F = torch.nn, torch.nn.functional

    class Net(tnn.Module):  # the tutorial's code
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 6, 5)
            self.pool = tnn.MaxPool2d(2, 2)
            self.conv2 = tnn.Conv2d(6, 16, 5)
            self.fc1 = tnn.Linear(16 * 5 * 5, 120)
            self.fc2 = tnn.Linear(120, 84)
            self.fc3 = tnn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
    return Net()


def _torch_resnet20():
    tnn = torch.nn

    class Block(tnn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(cout)
            self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(cout)
            self.downsample = (tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False),
                                              tnn.BatchNorm2d(cout))
                               if stride != 1 or cin != cout else None)

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    class ResNet20(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(16)
            self.layer1 = tnn.Sequential(*[Block(16, 16, 1) for _ in range(3)])
            self.layer2 = tnn.Sequential(Block(16, 32, 2), Block(32, 32, 1), Block(32, 32, 1))
            self.layer3 = tnn.Sequential(Block(32, 64, 2), Block(64, 64, 1), Block(64, 64, 1))
            self.fc = tnn.Linear(64, 10)

        def forward(self, x):
            x = torch.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(x.mean((2, 3)))
    return ResNet20()


@pytest.mark.skipif(torch is None, reason="needs torch")
@pytest.mark.parametrize("name,build", [("cifar_net", "_torch_cifar_net"),
                                        ("resnet20", "_torch_resnet20")])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_matches_torch_given_the_same_weights(name, build, mode):
    # float64: through 19 layers of train-mode batch norm, float32 rounding alone reaches 1%
    torch.manual_seed(0)
    ref = globals()[build]().double()
    model = models.get_model(name).double()
    ref_sd = ref.state_dict()
    assert list(model.state_dict()) == list(ref_sd)  # key for key, in order
    model.load_state_dict({k: v.detach().numpy() for k, v in ref_sd.items()})
    getattr(ref, mode)()
    getattr(model, mode)()
    x = np.random.RandomState(0).randn(4, 3, 32, 32)
    xt = torch.tensor(x, requires_grad=True)
    xn = nb.tensor(x, requires_grad=True)
    out_t, out_n = ref(xt), model(xn)
    np.testing.assert_allclose(out_n.detach().numpy(), out_t.detach().numpy(), rtol=1e-9, atol=1e-12)
    (out_t ** 2).sum().backward()
    (out_n ** 2).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    grads_t = {k: p.grad for k, p in ref.named_parameters()}
    for k, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads_t[k].numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=k)
