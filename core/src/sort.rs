//! The sorts core uses: insertion sort for its short lists (explanations,
//! feature importance, validation issues, rules: at most a few hundred items)
//! and heapsort for the long ones (a rule list's up to a million values).
//! Hand-written because the standard library's sorts cost kilobytes of wasm
//! per instantiation.

/// Stable insertion sort: afterwards no item stands after one it `precedes`,
/// and items neither precedes keep their order.
pub(crate) fn insertion_sort_by<T>(items: &mut [T], precedes: impl Fn(&T, &T) -> bool) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && precedes(&items[j], &items[j - 1]) {
            items.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Unstable heapsort, O(n log n) without allocating: afterwards no item
/// stands after one that `less` puts before it.
pub(crate) fn heap_sort_by<T>(items: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let sift = |items: &mut [T], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(&items[child], &items[child + 1]) {
            child += 1;
        }
        if !less(&items[root], &items[child]) {
            return;
        }
        items.swap(root, child);
        root = child;
    };
    let n = items.len();
    for root in (0..n / 2).rev() {
        sift(items, root, n);
    }
    for end in (1..n).rev() {
        items.swap(0, end);
        sift(items, 0, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_sort_sorts() {
        let mut state = 12345u64;
        for n in [0usize, 1, 2, 3, 10, 257, 1000] {
            let mut v: alloc::vec::Vec<u64> = (0..n)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (state >> 33) % 97
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            heap_sort_by(&mut v, |a, b| a < b);
            assert_eq!(v, want, "n = {n}");
        }
    }

    #[test]
    fn sorts_stably() {
        let mut v = [(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        insertion_sort_by(&mut v, |a, b| a.0 > b.0);
        assert_eq!(v, [(3, 'a'), (3, 'c'), (2, 'd'), (1, 'b'), (1, 'e')]);
    }
}
