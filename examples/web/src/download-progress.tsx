import { formatBytes } from './api';

/** A download's progress: bytes so far, the total when one is known and still right, the speed. */
export interface Progress {
  bytes: number;
  /** The real size (`Content-Length`) or the plan's estimate; `null` when unknown. */
  total: number | null;
  speedBps: number;
  /** The file is saved: `bytes` is its size. */
  done: boolean;
}

/**
 * The progress bar and its line. Never over 100 %: an estimate the bytes have passed is dropped (the bar
 * becomes indeterminate and the line shows the bytes alone), and the finished file shows its real size.
 */
export function DownloadProgress({ progress }: { progress: Progress }) {
  const { bytes, speedBps, done } = progress;
  const total =
    progress.total !== null && progress.total > 0 && bytes <= progress.total ? progress.total : null;
  const percent = done ? 100 : total ? Math.min(100, (bytes / total) * 100) : undefined;
  const etaS = !done && total && speedBps > 0 ? Math.ceil((total - bytes) / speedBps) : null;
  const text = done
    ? `Saved ${formatBytes(bytes)}`
    : `${formatBytes(bytes)}${total ? ` of ${formatBytes(total)}` : ''}${speedBps > 0 ? ` · ${formatBytes(speedBps)}/s` : ''}${etaS !== null ? ` · ${etaS} s left` : ''}`;
  return (
    <div className="progress dl-progress">
      {/* Without a value the bar is indeterminate: the total is unknown. */}
      <progress
        max={100}
        {...(percent === undefined ? {} : { value: percent })}
        aria-label="Download progress"
        aria-valuetext={text}
      />
      <span data-testid="download-progress" aria-live="polite">
        {text}
      </span>
    </div>
  );
}
