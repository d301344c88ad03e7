//! The one sort core uses, for its short lists (explanations, feature
//! importance, validation issues: at most a few hundred items). Hand-written
//! because the standard library's sorts cost kilobytes of wasm per instantiation.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_stably() {
        let mut v = [(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        insertion_sort_by(&mut v, |a, b| a.0 > b.0);
        assert_eq!(v, [(3, 'a'), (3, 'c'), (2, 'd'), (1, 'b'), (1, 'e')]);
    }
}
