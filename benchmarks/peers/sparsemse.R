# SparseMSE (Chan, Silverman & Vincent 2021): stepwise selection with a BCa bootstrap that
# re-runs the selection in every replicate; the counterpart of benchmarks/bench_bootstrap.py.
# Usage: Rscript sparsemse.R TABLE.csv NBOOT SEED
# Prints key=value lines: seconds (estimatepopulation alone, data already read), the point
# estimate, the 95% BCa interval (lower, upper), the acceleration ahat and z0.
args <- commandArgs(trailingOnly = TRUE)
if (!requireNamespace("SparseMSE", quietly = TRUE)) {
  cat("missing=SparseMSE\n")
  quit(status = 3)
}
suppressMessages(library(SparseMSE))
d <- read.csv(args[1])
nboot <- as.integer(args[2])
seed <- as.integer(args[3])
zdat <- d[d$count > 0 & rowSums(d[, setdiff(names(d), "count"), drop = FALSE]) > 0, ]
# estimatepopulation(zdat, nboot, pthresh, iseed, alpha, ...) passes `...` (here method) on to
# estimatepopulation.0; it returns popest (the point estimate) and BCaquantiles.
t0 <- proc.time()[["elapsed"]]
res <- estimatepopulation(zdat, nboot = nboot, pthresh = 0.02, iseed = seed,
                          alpha = c(0.025, 0.975), method = "stepwise")
seconds <- proc.time()[["elapsed"]] - t0
ci <- unname(res$BCaquantiles)
cat(sprintf("version=%s\nseconds=%.4f\nnboot=%d\n", as.character(packageVersion("SparseMSE")),
            seconds, nboot))
cat(sprintf("estimate=%.4f\nlower=%.1f\nupper=%.1f\n", unname(res$popest), ci[1], ci[2]))
# BCa's acceleration (jackknife: deterministic) and bias correction (bcaconfvalues' z0).
cat(sprintf("ahat=%.12f\nz0=%.6f\n", res$ahat, qnorm(mean(res$bootreps < res$popest))))
