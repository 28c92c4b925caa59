package devstack

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/workflows"
)

// StartWave starts ferry-wave-<wave> with the resolved specs of its apps.
func StartWave(ctx context.Context, c client.Client, wave plan.Wave, specs []plan.AppSpec, by string) (client.WorkflowRun, error) {
	var in []plan.AppSpec
	for _, s := range specs {
		for _, a := range wave.Apps {
			if s.Name == a {
				in = append(in, s)
			}
		}
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("wave %s has no apps in the plan", wave.Name)
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       workflows.WaveWorkflowID(wave.Name),
		TaskQueue:                                workflows.TaskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            fmt.Sprintf("Wave %s: %d apps, concurrency %d", wave.Name, len(in), wave.Concurrency),
	}, workflows.WaveWorkflowName, workflows.WaveInput{Wave: wave, Specs: in, StartedBy: by})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, fmt.Errorf("wave %s is already running (workflow %s): follow it with 'ferry wave status %s'", wave.Name, workflows.WaveWorkflowID(wave.Name), wave.Name)
	}
	return run, err
}

func startWave(ctx context.Context, c client.Client, wave plan.Wave, specs []plan.AppSpec, by string) error {
	_, err := StartWave(ctx, c, wave, specs, by)
	if err != nil && errors.Is(err, context.Canceled) {
		return err
	}
	if err != nil {
		// A wave left running from an earlier `ferry dev` is fine.
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if !errors.As(err, &started) && !isAlreadyRunning(err) {
			return err
		}
	}
	return nil
}

func isAlreadyRunning(err error) bool {
	return err != nil && strings.Contains(err.Error(), "is already running")
}
