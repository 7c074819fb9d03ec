"""Seeds of server samples: fixed by the problem and the sample's number, not by the problem's place in the
selection, so ``--task-ids 3,5 --n 2`` then ``--task-ids 5 --n 4 --resume`` asks a seeded server for two new
samples of HumanEval/5 (it once asked with seeds 2, 3, 2, 3: the same two samples twice)."""

from hub_tools.inference import server as server_module
from hub_tools.inference.local import SamplingConfig
from hub_tools.inference.server import EndpointConfig, sample_from_endpoint


def _seeds(monkeypatch, prompts, jobs, seed=0) -> dict[tuple[str, int], int]:
    """{(prompt, sample index): the seed the server was asked with} for ``jobs``."""
    asked = []

    def complete(self, prompt, *, seed, **options):
        asked.append(seed)
        return "    return 1\n", "stop", "stop", 3

    monkeypatch.setattr(server_module, "served_models", lambda endpoint: None)
    monkeypatch.setattr(server_module.CompletionsClient, "complete", complete)
    config = SamplingConfig(n=4, temperature=0.8, top_p=1.0, max_new_tokens=8, seed=seed)
    # One request in flight: the server is asked in the order of the jobs.
    endpoint = EndpointConfig("http://127.0.0.1:9/v1", "m", concurrency=1)
    sample_from_endpoint(endpoint, prompts, jobs, config, edit_sequence=False, on_sample=lambda *sample: None)
    return {(prompts[index], copy): value for (index, copy), value in zip(jobs, asked, strict=True)}


def test_a_problems_seeds_do_not_depend_on_the_selection(monkeypatch):
    three, five = "def three():", "def five():"
    first = _seeds(monkeypatch, [three, five], [(index, copy) for index in range(2) for copy in range(2)])
    resumed = _seeds(monkeypatch, [five], [(0, 2), (0, 3)])
    alone = _seeds(monkeypatch, [five], [(0, copy) for copy in range(4)])
    assert alone[five, 0] == first[five, 0] and alone[five, 1] == first[five, 1]
    assert [alone[five, copy] for copy in (2, 3)] == [resumed[five, 2], resumed[five, 3]]
    assert len(set(alone.values())) == 4  # four samples, four seeds
    assert first[three, 0] != first[five, 0]
    assert _seeds(monkeypatch, [five], [(0, 0)], seed=1)[five, 0] != alone[five, 0]


def test_equal_prompts_in_one_run_get_their_own_seeds(monkeypatch):
    asked = []
    monkeypatch.setattr(server_module, "sample_seed", lambda seed, key, copy: asked.append(key) or 0)
    _seeds(monkeypatch, ["same", "other", "same"], [(0, 0), (1, 0), (2, 0)])
    assert asked == ["same", "other", "same\0" + "1"]
