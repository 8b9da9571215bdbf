// A horizontally scrolling region that keyboard users can focus and scroll (axe:
// scrollable-region-focusable), named for screen readers.
/* eslint-disable jsx-a11y/no-noninteractive-tabindex -- a scroll container must be focusable to be scrolled by keyboard */
import type { ReactNode, Ref } from "react";

export function ScrollRegion({
  label,
  className = "table-scroll",
  children,
  ref,
}: {
  label: string;
  className?: string;
  children: ReactNode;
  ref?: Ref<HTMLDivElement>;
}) {
  return (
    <div ref={ref} className={className} role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
