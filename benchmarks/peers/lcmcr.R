# LCMCR (Manrique-Vallier 2016), one chain, timed; the counterpart of benchmarks/bench_lcmcr.py.
# Usage: Rscript lcmcr.R TABLE.csv BURNIN SAMPLES THINNING SEED [DRAWS.txt]
# TABLE.csv: one 0/1 column per list and a `count` column (undercount's shipped tables).
# lcmCR() runs LCMCR's 500 warm-up sweeps (alpha fixed, then classes relabelled by weight);
# lcmCR_PostSampl() then runs BURNIN sweeps and SAMPLES * THINNING more, keeping every
# THINNING-th draw of N. Both are timed; iterations counts all of them (500 + BURNIN +
# SAMPLES * THINNING). Prints key=value lines: seconds (wall), cpu_seconds, iterations,
# us_per_iteration, ess (coda's effectiveSize of N, for reference), quantiles; writes the
# draws of N, one a line, to DRAWS.txt when given (so that the benchmark computes both
# sides' ESS the same way).
args <- commandArgs(trailingOnly = TRUE)
if (!requireNamespace("LCMCR", quietly = TRUE)) {
  cat("missing=LCMCR\n")
  quit(status = 3)
}
suppressMessages(library(LCMCR))
d <- read.csv(args[1])
burnin <- as.integer(args[2])
samples <- as.integer(args[3])
thinning <- as.integer(args[4])
seed <- as.integer(args[5])
draws_path <- if (length(args) >= 6) args[6] else NA
d <- d[d$count > 0, ]
lists <- setdiff(names(d), "count")
tab <- d[, lists, drop = FALSE]
for (v in lists) tab[[v]] <- factor(tab[[v]], levels = c(0, 1))
tab$Freq <- d$count
t0 <- proc.time()
sampler <- lcmCR(captures = tab, tabular = TRUE, in_list_label = "1", not_in_list_label = "0",
                 K = 10, a_alpha = 0.25, b_alpha = 0.25, buffer_size = 10000,
                 thinning = thinning, seed = seed, verbose = FALSE)
N <- lcmCR_PostSampl(sampler, burnin = burnin, samples = samples, thinning = thinning,
                     output = FALSE)
dt <- proc.time() - t0
seconds <- dt[["elapsed"]]
cpu_seconds <- dt[["user.self"]] + dt[["sys.self"]]
iterations <- 500 + burnin + samples * thinning
if (!is.na(draws_path)) writeLines(format(N, digits = 15), draws_path)
ess <- if (requireNamespace("coda", quietly = TRUE)) {
  unname(coda::effectiveSize(coda::mcmc(N)))
} else NA
q <- quantile(N, c(0.025, 0.5, 0.975))
cat(sprintf("version=%s\nseconds=%.4f\ncpu_seconds=%.4f\niterations=%d\n",
            as.character(packageVersion("LCMCR")), seconds, cpu_seconds, iterations))
cat(sprintf("us_per_iteration=%.4f\ness=%.2f\n", 1e6 * seconds / iterations, ess))
cat(sprintf("lower=%.1f\nmedian=%.1f\nupper=%.1f\n", q[[1]], q[[2]], q[[3]]))
