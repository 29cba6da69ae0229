/** A progress line on stderr: model, epoch, batch, ETA and the running loss. */
export function progress(label: string, quiet: boolean) {
  let epochStarted = performance.now();
  return {
    onBatch: (epoch: number, batch: number, batches: number, loss: number) => {
      if (quiet) return;
      const elapsed = (performance.now() - epochStarted) / 1000;
      const eta = batch > 0 ? (elapsed / batch) * (batches - batch) : 0;
      const width = 24;
      const done = Math.round((batch / batches) * width);
      process.stderr.write(
        `\r${label.padEnd(16)} epoch ${epoch} [${'#'.repeat(done)}${'.'.repeat(width - done)}] batch ${batch}/${batches} loss ${loss.toFixed(4)} ETA ${eta.toFixed(0)}s   `,
      );
    },
    onEpoch: (r: { epoch: number; epochs: number; loss: number; seconds: number; samples: number }) => {
      if (!quiet)
        process.stderr.write(
          `\r${label.padEnd(16)} epoch ${r.epoch}/${r.epochs} loss ${r.loss.toFixed(4)} ${(r.samples / r.seconds).toFixed(0)} samples/s (${r.seconds.toFixed(1)} s)${' '.repeat(30)}\n`,
        );
      epochStarted = performance.now();
    },
  };
}
