//! Sorting many rows of f32 at once on the GPU (`shaders/sort.wgsl`): a least-significant-digit
//! radix sort on order-preserving u32 keys, one workgroup per row and one dispatch per digit,
//! ping-ponging between the data and a scratch buffer of the same size. Each dispatch keeps
//! every invocation's loops within a CPU adapter's loop limit (past 65,535 iterations it
//! silently cuts them short); rows too long for that are refused with an error.

use super::u;
use crate::gpu::params::shader_params;
use crate::gpu::shaders::Shader;
use crate::gpu::{Bind, Kernel, KernelSpec, CPU_LOOP_LIMIT};
use crate::{Error, Gpu, Result, Tensor};

shader_params! {
    /// `sort.wgsl`'s parameters: the rows' shape and the digit of one pass.
    pub(crate) struct SortParams for Sort::Params {
        rows: u32,
        len: u32,
        shift: u32,
    }
}

/// Digit counters per workgroup: `(1 << bits) · lanes`, 16 KiB of u32.
const COUNTERS: usize = 4096;

/// (bits per digit, lanes per row), fastest first: 4 passes of 8 bits with 16 lanes, or 8
/// passes of 4 bits with 256 lanes when a row is too long for 16 lanes under a CPU adapter's
/// loop limit (about 518,000 values).
/// Both make an even number of passes, so the sorted rows end in the data, not the scratch.
const SHAPES: [(usize, usize); 2] = [(8, 16), (4, 256)];

/// Loop iterations one invocation of a pass takes on rows of `len` (see `radix_pass`): clearing,
/// scanning and shifting its counters, adding the totals of the lanes before it, and its block
/// of the row twice (count, then move).
fn iterations(len: usize, bits: usize, lanes: usize) -> usize {
    3 * (1 << bits) + lanes + 2 * len.div_ceil(lanes)
}

/// The kernels that sort each of the `rows` rows of `data` (`rows × len` values, row-major)
/// in place, ascending in `f32::total_cmp`'s order; run them in order, in one pass or several.
/// They own a scratch buffer of `data`'s size.
pub fn sort_rows(gpu: &Gpu, data: &Tensor, rows: usize, len: usize) -> Result<Vec<Kernel>> {
    if rows == 0 || len == 0 || data.len() != rows * len {
        return Err(Error::shape(
            "sort_rows",
            format!("{rows} rows of {len} values do not fill {:?}", data.shape()),
        ));
    }
    if u32::try_from(rows * len).is_err() {
        return Err(Error::shape(
            "sort_rows",
            format!("{rows} rows of {len} values are too many for 32-bit indices"),
        ));
    }
    // The shape depends on the length alone, so that every adapter runs the same passes (and
    // the tests reach both shapes on any adapter); on a GPU, the wider shape also suits long rows.
    let (bits, lanes) = *SHAPES
        .iter()
        .find(|&&(bits, lanes)| iterations(len, bits, lanes) < CPU_LOOP_LIMIT)
        .unwrap_or(&SHAPES[SHAPES.len() - 1]);
    if let Some(limit) = gpu.loop_limit() {
        if iterations(len, bits, lanes) >= limit {
            return Err(Error::shape(
                "sort_rows",
                format!(
                    "rows of {len} values exceed the loop limit ({limit}) of shaders on this CPU adapter"
                ),
            ));
        }
    }
    debug_assert_eq!((1 << bits) * lanes, COUNTERS);
    let scratch = Tensor::zeros(gpu, &[rows, len], "sort scratch")?;
    let mut kernels = Vec::with_capacity(32 / bits);
    for pass in 0..32 / bits {
        let params = SortParams {
            rows: u(rows),
            len: u(len),
            shift: u(pass * bits),
        };
        let (src, dst) = if pass % 2 == 0 {
            (data, &scratch)
        } else {
            (&scratch, data)
        };
        kernels.push(
            gpu.kernel(
                KernelSpec::new(Shader::Sort, "radix_pass")
                    .constant("LANES", lanes as f64)
                    .constant("BITS", bits as f64),
                &[Bind::params(&params), Bind::Read(src), Bind::Write(dst)],
                u(rows),
            )?,
        );
    }
    Ok(kernels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_fill_the_counters_and_make_an_even_number_of_passes() {
        for (bits, lanes) in SHAPES {
            assert_eq!((1 << bits) * lanes, COUNTERS);
            assert_eq!(32 % bits, 0);
            assert_eq!((32 / bits) % 2, 0);
        }
        // 40,000 values (10,000 images at 4 patches) take the 16-lane shape on a CPU adapter.
        assert!(iterations(40_000, 8, 16) < CPU_LOOP_LIMIT);
        assert!(iterations(1_280_000, 8, 16) > CPU_LOOP_LIMIT);
        assert!(iterations(1_280_000, 4, 256) < CPU_LOOP_LIMIT);
    }
}
