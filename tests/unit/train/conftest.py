import pytest
import torch

from tests.support.train_data import make_data


@pytest.fixture(autouse=True)
def _one_thread():
    # The machine's cores are shared; bit-identity checks also need a fixed thread count.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def data(tmp_path):
    return make_data(tmp_path)
