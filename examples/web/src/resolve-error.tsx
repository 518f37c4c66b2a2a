import { type ApiError, type ErrorExplanation, explainError } from './api';

/**
 * An error for people: what happened and what to do, with the code and the server's own message as a small
 * detail, and "Try again" only when trying again can help.
 */
export function ErrorMessage({
  error,
  title,
  onRetry,
  explanation,
}: {
  error: ApiError;
  /** Words that fit this place better than the code's general ones. */
  explanation?: ErrorExplanation;
  /** A lead-in naming what failed (`Could not use that video.`). */
  title?: string;
  onRetry?: () => void;
}) {
  const { what, todo, retry } = explanation ?? explainError(error);
  return (
    <div className="error" role="alert" data-testid="error" data-code={error.code}>
      <p className="error-what">
        {title ? <strong>{title} </strong> : null}
        {title ? what : <strong>{what}</strong>}
      </p>
      {todo && <p className="error-todo">{todo}</p>}
      {retry && onRetry && (
        <button type="button" className="secondary" onClick={onRetry}>
          Try again
        </button>
      )}
      {error.message && error.message !== what && (
        <details className="detail">
          <summary>Technical detail</summary>
          <p>
            {error.code}: {error.message}
          </p>
        </details>
      )}
    </div>
  );
}
