"""Image transforms: values, shapes, dtypes, layouts and determinism under a seed."""
import numpy as np
import pytest

import nabla as nb
from nabla.data import transforms as T
from tests.optest import needs_torch, torch


def _hwc(h=4, w=5, c=3):
    return (np.arange(h * w * c) % 251).astype(np.uint8).reshape(h, w, c)


def test_to_tensor_uint8_hwc_and_2d():
    img = _hwc()
    t = T.ToTensor()(img)
    assert t.shape == (3, 4, 5) and t.dtype == nb.float32
    np.testing.assert_allclose(t.numpy(), img.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    gray = T.ToTensor()(np.full((2, 3), 255, dtype=np.uint8))
    assert gray.shape == (1, 2, 3) and gray.numpy().max() == 1.0
    f64 = T.ToTensor()(np.ones((2, 2, 1)) * 7.0)  # non-uint8: values and dtype kept
    assert f64.dtype == nb.float64 and f64.numpy().max() == 7.0
    already = nb.zeros(1, 2, 2)
    assert T.ToTensor()(already) is already


def test_to_tensor_errors():
    with pytest.raises(TypeError, match="ToTensor: pic should be a NumPy array"):
        T.ToTensor()([[1, 2]])
    with pytest.raises(ValueError, match=r"2 or 3 dimensional.*\(2, 2, 2, 2\)"):
        T.ToTensor()(np.zeros((2, 2, 2, 2), np.uint8))


def test_normalize():
    x = nb.tensor(np.random.rand(3, 2, 2).astype(np.float32))
    out = T.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.5])(x)
    expected = (x.numpy() - np.array([0.5, 0.4, 0.3])[:, None, None]) / \
        np.array([0.2, 0.25, 0.5])[:, None, None]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert out.dtype == nb.float32
    batch = T.Normalize((0.5,), (0.5,))(nb.ones(2, 1, 3, 3))  # one value for every channel
    np.testing.assert_allclose(batch.numpy(), 1.0)


def test_normalize_errors():
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize([0.0], [0.0])
    with pytest.raises(TypeError, match="apply ToTensor first"):
        T.Normalize([0.5], [0.5])(_hwc())
    with pytest.raises(ValueError, match=r"mean has 2 values but the image has 3 channels"):
        T.Normalize([0.5, 0.5], [1.0, 1.0])(nb.zeros(3, 2, 2))


def test_compose_and_lambda():
    pipeline = T.Compose([T.ToTensor(), T.Lambda(lambda t: t * 2), T.Normalize([1.0], [1.0])])
    out = pipeline(np.full((2, 2), 255, dtype=np.uint8))
    np.testing.assert_allclose(out.numpy(), np.ones((1, 2, 2)))
    assert "ToTensor" in repr(pipeline)
    with pytest.raises(TypeError, match="should be callable"):
        T.Lambda(3)


def test_center_crop_both_layouts():
    img = _hwc(6, 7)
    out = T.CenterCrop((2, 3))(img)
    np.testing.assert_array_equal(out, img[2:4, 2:5])
    t = nb.tensor(img.transpose(2, 0, 1).copy())
    np.testing.assert_array_equal(T.CenterCrop((2, 3))(t).numpy(), img[2:4, 2:5].transpose(2, 0, 1))
    padded = T.CenterCrop(4)(np.ones((2, 2), np.uint8))  # larger than the image: zero padding
    np.testing.assert_array_equal(padded, np.pad(np.ones((2, 2)), 1))


def test_random_crop_with_padding():
    img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    padded = np.pad(img, 2)
    crop = T.RandomCrop(4, padding=2)
    nb.manual_seed(0)
    outs = [crop(img) for _ in range(30)]
    windows = {(i, j): padded[i:i + 4, j:j + 4] for i in range(5) for j in range(5)}
    found = set()
    for o in outs:
        assert o.shape == (4, 4) and o.dtype == np.uint8
        match = [k for k, win in windows.items() if np.array_equal(win, o)]
        assert match
        found.update(match)
    assert len(found) > 5  # offsets vary
    nb.manual_seed(0)
    again = [crop(img) for _ in range(30)]
    assert all(np.array_equal(a, b) for a, b in zip(outs, again))


def test_random_crop_padding_modes_and_errors():
    img = np.arange(9, dtype=np.float32).reshape(3, 3)
    full = T.RandomCrop(5, padding=1, padding_mode="reflect")(img)
    np.testing.assert_array_equal(full, np.pad(img, 1, mode="reflect"))
    out = T.RandomCrop((5, 5), pad_if_needed=True, fill=9)(img)
    assert out.shape == (5, 5)
    with pytest.raises(ValueError, match=r"crop size \(5, 5\) is larger than .* \(3, 3\)"):
        T.RandomCrop(5)(img)
    with pytest.raises(ValueError, match="padding_mode should be one of"):
        T.RandomCrop(3, padding=1, padding_mode="wrap")(img)


def test_flips():
    img = _hwc()
    t = nb.tensor(img.transpose(2, 0, 1).copy())
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(img), img[:, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(t).numpy(),
                                  img[:, ::-1].transpose(2, 0, 1))
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(img), img[::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(t).numpy(),
                                  img[::-1].transpose(2, 0, 1))
    assert T.RandomHorizontalFlip(0.0)(img) is img
    nb.manual_seed(1)
    flips = [T.RandomHorizontalFlip()(img)[0, 0, 0] != img[0, 0, 0] for _ in range(200)]
    assert 70 < sum(flips) < 130
    nb.manual_seed(1)
    assert [T.RandomHorizontalFlip()(img)[0, 0, 0] != img[0, 0, 0] for _ in range(200)] == flips
    with pytest.raises(ValueError, match=r"p should be in \[0, 1\]"):
        T.RandomVerticalFlip(1.5)


def test_rotation():
    img = np.arange(25, dtype=np.uint8).reshape(5, 5)
    rot = T.RandomRotation((90, 90))(img)  # counter-clockwise, as torchvision
    np.testing.assert_array_equal(rot, np.rot90(img))
    assert rot.dtype == np.uint8
    t = nb.tensor(np.stack([img, img]).astype(np.float32))
    np.testing.assert_array_equal(T.RandomRotation((90, 90))(t).numpy()[1], np.rot90(img))
    np.testing.assert_array_equal(T.RandomRotation(0)(img), img)
    r45 = T.RandomRotation((45, 45), fill=200)(np.ones((9, 9), np.uint8))
    assert r45[0, 0] == 200 and r45[4, 4] == 1  # corners filled, centre kept
    nb.manual_seed(3)
    a = T.RandomRotation(30, interpolation="bilinear")(t)
    nb.manual_seed(3)
    b = T.RandomRotation(30, interpolation="bilinear")(t)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.shape == t.shape
    with pytest.raises(ValueError, match="must be non-negative"):
        T.RandomRotation(-5)


def test_resize_shapes_and_dtype():
    img = _hwc(4, 8)
    out = T.Resize(2)(img)  # smaller edge -> 2, aspect kept
    assert out.shape == (2, 4, 3) and out.dtype == np.uint8
    t = nb.tensor(np.random.rand(3, 4, 8).astype(np.float32))
    assert T.Resize((5, 3))(t).shape == (3, 5, 3)
    const = T.Resize((7, 9))(np.full((3, 3), 5.0, np.float32))
    np.testing.assert_allclose(const, 5.0)


@needs_torch
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("in_hw,out_hw", [((4, 5), (7, 9)), ((8, 6), (3, 4)), ((3, 3), (3, 3)),
                                          ((1, 4), (2, 2))])
def test_resize_matches_torch_interpolate(mode, in_hw, out_hw):
    x = np.random.rand(2, *in_hw).astype(np.float32)
    ours = T.Resize(out_hw, interpolation=mode)(nb.tensor(x)).numpy()
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    theirs = torch.nn.functional.interpolate(torch.tensor(x)[None], size=out_hw, mode=mode,
                                             **kwargs)[0].numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_layout_errors():
    with pytest.raises(TypeError, match=r"expected a nabla Tensor \(..., H, W\) or a NumPy"):
        T.RandomHorizontalFlip(1.0)([[1, 2]])
    with pytest.raises(ValueError, match=r"tensor image of shape \(..., H, W\), got shape \(3,\)"):
        T.Resize(2)(nb.zeros(3))


def test_random_rotation_about_a_center():
    img = np.arange(30, dtype=np.float32).reshape(5, 6)
    # the image centre given explicitly, (W/2, H/2) from the top-left corner, is the default
    np.testing.assert_array_equal(T.RandomRotation((90, 90), center=(3.0, 2.5))(img),
                                  T.RandomRotation((90, 90))(img))
    # 90 degrees counter-clockwise about the top-left pixel's centre: it stays, and the
    # column below it turns into the row to its right; the rest comes from outside (fill)
    out = T.RandomRotation((90, 90), center=(0.5, 0.5), fill=-1)(img)
    np.testing.assert_array_equal(out[0, :5], img[:5, 0])
    assert (out[1:] == -1).all() and out[0, 5] == -1
    x = nb.tensor(np.stack([img, 2 * img]))  # every channel rotated alike
    y = T.RandomRotation((30, 30), center=(1.5, 2.5), interpolation="bilinear")(x)
    np.testing.assert_allclose(y.numpy()[1], 2 * y.numpy()[0], atol=1e-5)
    with pytest.raises(ValueError, match="expand=True rotates about the image centre"):
        T.RandomRotation(10, expand=True, center=(1, 1))
    with pytest.raises(ValueError, match=r"center should be a sequence \(x, y\)"):
        T.RandomRotation(10, center=3)
