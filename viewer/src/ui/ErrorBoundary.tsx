// Keeps one broken panel from blanking the page: a component that throws on data it did not expect shows a
// one-line message in its place, and tries again when `resetKey` changes (the cursor moves, the model updates).
import { Component, type ReactNode } from 'react';
import { Shown } from './Shown.tsx';

interface Props {
  where: string;
  resetKey: unknown;
  children: ReactNode;
}

interface State {
  error?: Error;
  key: unknown;
}

export class ErrorBoundary extends Component<Props, State> {
  override state: State = { key: undefined };

  static getDerivedStateFromError(error: Error): Partial<State> {
    return { error };
  }

  static getDerivedStateFromProps(props: Props, state: State): Partial<State> | null {
    return props.resetKey !== state.key ? { key: props.resetKey, error: undefined } : null;
  }

  override render(): ReactNode {
    if (this.state.error) {
      return (
        <div className="panel-error error-text" role="alert" data-testid="panel-error">
          The {this.props.where} could not show this point of the run: <Shown text={this.state.error.message.split('\n')[0]} />
        </div>
      );
    }
    return this.props.children;
  }
}
