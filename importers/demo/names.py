"""Plausible Chinese personal names for generated people (no real person is meant)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# Common surnames of central Zhejiang, weighted roughly by frequency (东阳: 陈 王 张 吴 卢 楼 杜 徐...).
SURNAMES = list("陈王张吴卢楼杜徐金郭蒋李胡黄赵单葛何朱周韦许厉马")
SURNAME_WEIGHTS = np.array([12, 10, 8, 7, 6, 6, 5, 5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2,
                            2], dtype=float)
GIVEN = list("子涵梓轩浩宇欣怡雨桐思远佳琪俊杰晨曦一诺锦程可馨嘉怡博文若汐雅婷宇航沐阳诗琪明哲")
TITLES_TOWNSHIP = ["党委副书记", "副镇长", "人大主席", "党委委员", "武装部长", "纪委书记", "组织委员",
                   "宣传委员"]


def names(rng: np.random.Generator, n: int) -> NDArray[np.str_]:
    p = SURNAME_WEIGHTS / SURNAME_WEIGHTS.sum()
    surnames = rng.choice(SURNAMES, size=n, p=p)
    first = rng.choice(GIVEN, size=n)
    second = rng.choice(GIVEN, size=n)
    single = rng.random(n) < 0.2
    return np.where(single, np.char.add(surnames, first),
                    np.char.add(np.char.add(surnames, first), second))


def phones(rng: np.random.Generator, n: int) -> list[str]:
    prefixes = rng.choice(["135", "137", "139", "150", "158", "188"], size=n)
    tails = rng.integers(0, 10**8, size=n)
    return [f"{p}{t:08d}" for p, t in zip(prefixes, tails, strict=True)]
