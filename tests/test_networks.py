"""Tests for sknnaqc.networks: shapes, parameter counts, torchvision wrapper."""

import pytest
import torch
from torch import nn

from sknnaqc.networks import (
    MLP,
    cifar_lenet,
    cifar_resnet,
    lc_cnn,
    mnist_lenet,
    torchvision_backbone,
)


def n_params(module, trainable=None):
    return sum(
        p.numel()
        for p in module.parameters()
        if trainable is None or p.requires_grad == trainable
    )


def conv(c_in, c_out, k, bias=True):
    return c_in * c_out * k * k + (c_out if bias else 0)


def bn(c):
    return 2 * c


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    "factory, input_shape, n_classes",
    [
        (mnist_lenet, (3, 1, 28, 28), 10),
        (mnist_lenet, (3, 1, 28, 28), 4),
        (cifar_lenet, (3, 3, 32, 32), 10),
        (lc_cnn, (3, 3, 32, 32), 100),
        (lc_cnn, (3, 3, 32, 32), 7),
    ],
)
def test_output_shape(factory, input_shape, n_classes):
    net = factory(n_classes=n_classes)
    out = net(torch.randn(*input_shape))
    assert out.shape == (input_shape[0], n_classes)
    assert out.dtype == torch.float32


def test_mnist_lenet_in_channels():
    net = mnist_lenet(n_classes=5, in_channels=3)
    assert net(torch.randn(2, 3, 28, 28)).shape == (2, 5)


@pytest.mark.parametrize("depth", [8, 20])
@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_cifar_resnet_output_shape(depth, shortcut):
    net = cifar_resnet(depth=depth, n_classes=6, shortcut=shortcut)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 6)


def test_cifar_resnet_paper_depth_shape():
    net = cifar_resnet(depth=44, n_classes=100).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 32, 32)).shape == (1, 100)


def test_mlp_shapes_and_flatten():
    net = MLP(n_features=12, n_classes=3, hidden=(8, 5), dropout=0.2)
    assert net(torch.randn(4, 12)).shape == (4, 3)
    assert net(torch.randn(4, 3, 2, 2)).shape == (4, 3)
    # float64 input is cast to the parameters' dtype
    assert net(torch.randn(4, 12, dtype=torch.float64)).dtype == torch.float32
    assert sum(isinstance(m, nn.Dropout) for m in net.modules()) == 2


def test_mlp_no_hidden_is_linear():
    net = MLP(n_features=4, n_classes=3, hidden=())
    assert n_params(net) == 4 * 3 + 3


@pytest.mark.parametrize(
    "kwargs",
    [{"n_features": 0, "n_classes": 2}, {"n_features": 3, "n_classes": 2, "dropout": 1.0}],
)
def test_mlp_invalid(kwargs):
    with pytest.raises(ValueError):
        MLP(**kwargs)


# ---------------------------------------------------------------- parameter counts


def test_mnist_lenet_parameter_count_exact():
    expected = 20 * 25 + 20 + 50 * 20 * 25 + 50 + 500 * 50 * 16 + 500 + 10 * 500 + 10
    assert expected == 431080
    assert n_params(mnist_lenet(n_classes=10)) == expected
    n = 3
    assert n_params(mnist_lenet(n_classes=n)) == expected - 10 * 501 + n * 501


def test_cifar_lenet_parameter_count():
    expected = (
        conv(3, 32, 5) + conv(32, 32, 5) + conv(32, 64, 5) + conv(64, 64, 4)
        + conv(64, 10, 1)
    )
    assert n_params(cifar_lenet(n_classes=10)) == expected == 145578


def test_cifar_lenet_pooling_matches_matconvnet_padding():
    # MatConvNet pads pooling by one row/column at the bottom/right.
    net = cifar_lenet()
    x = torch.randn(1, 3, 32, 32)
    sizes = []
    for layer in net:
        x = layer(x)
        if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
            sizes.append(x.shape[-1])
    assert sizes == [16, 8, 4]
    # max-pool over the clipped window equals -inf padding
    pool = net[1]
    z = torch.randn(1, 1, 32, 32)
    padded = nn.functional.pad(z, (0, 1, 0, 1), value=float("-inf"))
    assert torch.equal(pool(z), nn.functional.max_pool2d(padded, 3, 2))


def test_lc_cnn_parameter_count():
    expected = (
        conv(3, 64, 5) + conv(64, 128, 5) + (128 * 8 * 8 * 384 + 384) + (384 * 100 + 100)
    )
    assert n_params(lc_cnn(n_classes=100)) == expected == 3394404
    small = lc_cnn(n_classes=10, channels=(8, 16), hidden=32)
    assert n_params(small) == (
        conv(3, 8, 5) + conv(8, 16, 5) + (16 * 64 * 32 + 32) + (32 * 10 + 10)
    )


def resnet_expected(depth, n_classes, shortcut):
    n = (depth - 2) // 6
    block = lambda c_in, c: conv(c_in, c, 3, False) + bn(c) + conv(c, c, 3, False) + bn(c)
    total = conv(3, 16, 3, False) + bn(16)
    c_in = 16
    for c in (16, 32, 64):
        for _ in range(n):
            total += block(c_in, c)
            if c_in != c and shortcut == "B":
                total += conv(c_in, c, 1, False) + bn(c)
            c_in = c
    return total + 64 * n_classes + n_classes


@pytest.mark.parametrize("depth", [8, 20, 44])
@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_cifar_resnet_parameter_count(depth, shortcut):
    net = cifar_resnet(depth=depth, n_classes=100, shortcut=shortcut)
    assert n_params(net) == resnet_expected(depth, 100, shortcut)


def test_cifar_resnet44_documented_count():
    assert n_params(cifar_resnet(depth=44, n_classes=100)) == 664436


def test_cifar_resnet_layer_count():
    net = cifar_resnet(depth=20, n_classes=10)
    weighted = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weighted) == 20


@pytest.mark.parametrize("depth", [0, 7, 21, 45, 2, -4, 44.0, "44"])
def test_cifar_resnet_invalid_depth(depth):
    with pytest.raises(ValueError, match="6n \\+ 2"):
        cifar_resnet(depth=depth)


def test_cifar_resnet_invalid_shortcut():
    with pytest.raises(ValueError, match="shortcut"):
        cifar_resnet(depth=20, shortcut="C")


# ---------------------------------------------------------------- torchvision


def test_backbone_resnet18_shape():
    net = torchvision_backbone("resnet18", n_classes=3)
    assert isinstance(net.fc, nn.Linear) and net.fc.out_features == 3
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 3)


def test_backbone_alexnet_head():
    net = torchvision_backbone("alexnet", n_classes=5)
    assert net.classifier[-1].out_features == 5
    assert net.classifier[-1].in_features == 4096


def test_backbone_generic_head():
    net = torchvision_backbone("mobilenet_v3_small", n_classes=4).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 64, 64)).shape == (1, 4)


def test_backbone_unknown_name():
    with pytest.raises(ValueError, match="resnet18"):
        torchvision_backbone("not_a_model", n_classes=2)


def test_backbone_without_linear_head():
    with pytest.raises(ValueError, match="Linear"):
        torchvision_backbone("squeezenet1_0", n_classes=2)


def test_backbone_missing_weights_file(tmp_path):
    path = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match="nope.pth") as excinfo:
        torchvision_backbone("resnet18", n_classes=2, weights_path=path)
    assert "yourself" in str(excinfo.value)


RESNET_BLOCKS = [("conv1", "bn1"), ("layer1",), ("layer2",), ("layer3",), ("layer4",)]


@pytest.mark.parametrize("freeze", [0, 1, 3, 5])
def test_backbone_resnet_freeze(freeze):
    net = torchvision_backbone("resnet18", n_classes=3, freeze=freeze)
    frozen_names = {n for block in RESNET_BLOCKS[:freeze] for n in block}
    for name, param in net.named_parameters():
        assert param.requires_grad == (name.split(".")[0] not in frozen_names), name
    expected = sum(
        n_params(getattr(net, n)) for block in RESNET_BLOCKS[:freeze] for n in block
    )
    assert n_params(net, trainable=False) == expected
    assert net.fc.weight.requires_grad


def test_backbone_alexnet_freeze_four_blocks():
    net = torchvision_backbone("alexnet", n_classes=3, freeze=4)
    convs = [m for m in net.features if isinstance(m, nn.Conv2d)]
    assert [c.weight.requires_grad for c in convs] == [False] * 4 + [True]
    assert n_params(net, trainable=False) == sum(n_params(c) for c in convs[:4])


@pytest.mark.parametrize("frozen_eval", [False, True])
def test_backbone_frozen_eval_keeps_batchnorm_statistics(frozen_eval):
    # Issue 12: frozen blocks may stay in eval mode while the rest trains.
    import copy
    import pickle

    torch.manual_seed(0)
    net = torchvision_backbone("resnet18", n_classes=3, freeze=2, frozen_eval=frozen_eval)
    frozen_bn, trained_bn = net.layer1[0].bn1, net.layer2[0].bn1
    before = frozen_bn.running_mean.clone(), trained_bn.running_mean.clone()
    for model in (net, copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        model.train()
        model(torch.randn(4, 3, 32, 32))
        assert model.layer1[0].bn1.training == (not frozen_eval)
        assert model.bn1.training == (not frozen_eval)
        assert model.layer2[0].bn1.training and model.fc.training
    assert torch.equal(frozen_bn.running_mean, before[0]) == frozen_eval
    assert not torch.equal(trained_bn.running_mean, before[1])


def test_backbone_frozen_eval_must_be_bool():
    with pytest.raises(ValueError, match="frozen_eval"):
        torchvision_backbone("resnet18", n_classes=3, freeze=1, frozen_eval="yes")


@pytest.mark.parametrize("freeze", [6, -1])
def test_backbone_freeze_out_of_range(freeze):
    with pytest.raises(ValueError, match="freeze"):
        torchvision_backbone("resnet18", n_classes=3, freeze=freeze)


def test_backbone_loads_weights_with_other_head(tmp_path):
    torch.manual_seed(0)
    source = torchvision_backbone("resnet18", n_classes=1000)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)

    net = torchvision_backbone("resnet18", n_classes=3, weights_path=path)
    saved = source.state_dict()
    for key, value in net.state_dict().items():
        if key.startswith("fc."):
            assert value.shape[0] == 3
        else:
            assert torch.equal(value, saved[key]), key

    # same head size: the head is loaded too
    same = torchvision_backbone("resnet18", n_classes=1000, weights_path=str(path))
    assert torch.equal(same.fc.weight, source.fc.weight)


def test_backbone_weights_for_other_architecture(tmp_path):
    path = tmp_path / "alexnet.pth"
    torch.save(torchvision_backbone("alexnet", n_classes=2).state_dict(), path)
    with pytest.raises(ValueError, match="does not fit"):
        torchvision_backbone("resnet18", n_classes=2, weights_path=path)


def test_backbone_frozen_params_do_not_move():
    torch.manual_seed(0)
    net = torchvision_backbone("resnet18", n_classes=3, freeze=2)
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    optimizer = torch.optim.SGD(
        [p for p in net.parameters() if p.requires_grad], lr=0.1
    )
    loss = nn.functional.cross_entropy(
        net(torch.randn(4, 3, 32, 32)), torch.tensor([0, 1, 2, 0])
    )
    loss.backward()
    optimizer.step()
    for name, param in net.named_parameters():
        changed = not torch.equal(param, before[name])
        frozen = name.split(".")[0] in {"conv1", "bn1", "layer1"}
        assert param.requires_grad != frozen, name
        if frozen:
            assert not changed, name
            assert param.grad is None, name
    assert not torch.equal(net.fc.weight, before["fc.weight"])
    assert not torch.equal(net.layer4[1].conv2.weight, before["layer4.1.conv2.weight"])


def test_backbone_loads_checkpoint_dict_with_module_prefix(tmp_path):
    source = torchvision_backbone("resnet18", n_classes=1000)
    state = {
        f"module.{k}": v
        for k, v in source.state_dict().items()
        if not k.endswith("num_batches_tracked")  # as in old checkpoints
    }
    path = tmp_path / "checkpoint.pth"
    torch.save({"state_dict": state, "epoch": 3}, path)
    net = torchvision_backbone("resnet18", n_classes=2, weights_path=path)
    assert torch.equal(net.layer3[0].conv1.weight, source.layer3[0].conv1.weight)
