"""PNG grids and labelled rows: what is drawn can be read back exactly (tests judge generated images by it)."""

import torch

from condgen.viz import TITLE_HEIGHT, grid_cells, save_grid, save_labeled_rows


def test_grid_cells_inverts_save_grid(tmp_path):
    images = torch.randint(0, 256, (7, 3, 5, 6), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    save_grid(images, tmp_path / "grid.png")
    assert torch.equal(grid_cells(tmp_path / "grid.png", 7, (5, 6)), images)
    save_grid(images.float() / 127.5 - 1, tmp_path / "wide.png", nrow=7, scale=1)
    assert torch.equal(grid_cells(tmp_path / "wide.png", 7, (5, 6), nrow=7, scale=1), images)


def test_labelled_rows_are_a_grid_below_their_titles(tmp_path):
    rows = [torch.randint(0, 256, (3, 3, 4, 4), dtype=torch.uint8) for _ in range(2)]
    save_labeled_rows(rows, ["original", "edit", "other"], tmp_path / "rows.png")
    cells = grid_cells(tmp_path / "rows.png", 6, (4, 4), nrow=3, scale=3, top=TITLE_HEIGHT)
    assert torch.equal(cells, torch.cat(rows))
