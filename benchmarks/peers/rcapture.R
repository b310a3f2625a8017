# Rcapture (Baillargeon & Rivest 2007): closedp.t, the closed-population models M0, Mt,
# Mh-* and Mth-* at once, then closedpCI.t, the multinomial profile-likelihood interval, for
# each of the ten models; the counterpart of benchmarks/bench_rcapture.py.
# Usage: Rscript rcapture.R TABLE.csv REPEATS
# Prints key=value lines: seconds per closedp.t call and per round of the ten closedpCI.t
# calls (means of REPEATS), the model with the smallest AIC among the ten (closedp.t also
# fits Mb and Mbh) that closedp.t fitted without error, its abundance and profile interval.
args <- commandArgs(trailingOnly = TRUE)
if (!requireNamespace("Rcapture", quietly = TRUE)) {
  cat("missing=Rcapture\n")
  quit(status = 3)
}
suppressMessages(library(Rcapture))
d <- read.csv(args[1])
repeats <- as.integer(args[2])
X <- as.matrix(d[d$count > 0, ])
t0 <- proc.time()[["elapsed"]]
for (r in seq_len(repeats)) res <- closedp.t(X, dfreq = TRUE)
seconds <- (proc.time()[["elapsed"]] - t0) / repeats
tab <- res$results
# closedp.t's row names and the closedpCI.t arguments that fit the same model.
specs <- list(
  "M0" = list(m = "M0"), "Mt" = list(m = "Mt"),
  "Mh Chao (LB)" = list(m = "Mh", h = "Chao"),
  "Mh Poisson2" = list(m = "Mh", h = "Poisson", h.control = list(theta = 2)),
  "Mh Darroch" = list(m = "Mh", h = "Darroch"),
  "Mh Gamma3.5" = list(m = "Mh", h = "Gamma", h.control = list(theta = 3.5)),
  "Mth Chao (LB)" = list(m = "Mth", h = "Chao"),
  "Mth Poisson2" = list(m = "Mth", h = "Poisson", h.control = list(theta = 2)),
  "Mth Darroch" = list(m = "Mth", h = "Darroch"),
  "Mth Gamma3.5" = list(m = "Mth", h = "Gamma", h.control = list(theta = 3.5))
)
# By name: closedpCI.t tells its ".t" form from the name it was called by (match.call).
# closedp.t also fits Mb and Mbh, which undercount does not: choose among the ten.
ten <- intersect(names(specs), rownames(tab))
ok <- ten[tab[ten, "infoFit"] == 0 | is.na(tab[ten, "infoFit"])]
best <- ok[which.min(tab[ok, "AIC"])]
ci_of <- function(spec) {
  out <- tryCatch(suppressWarnings(do.call("closedpCI.t", c(list(X = X, dfreq = TRUE), spec))),
                  error = function(e) NULL)
  if (is.null(out)) return(c(NA, NA))
  suppressWarnings(as.numeric(unlist(out$CI[1, c("infCL", "supCL")])))
}
t0 <- proc.time()[["elapsed"]]
for (r in seq_len(repeats)) cis <- lapply(specs[ten], ci_of)
seconds_ci <- (proc.time()[["elapsed"]] - t0) / repeats
cat(sprintf("version=%s\nseconds=%.5f\nseconds_ci=%.5f\nbest=%s\nabundance=%.4f\n",
            as.character(packageVersion("Rcapture")), seconds, seconds_ci, best,
            tab[best, "abundance"]))
cat(sprintf("lower=%.2f\nupper=%.2f\n", cis[[best]][1], cis[[best]][2]))
